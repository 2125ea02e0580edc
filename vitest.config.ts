import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Feature repos import the library by its package name; inside the checkout that is the source itself.
    alias: { fstore: fileURLToPath(new URL('./lib/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Limits catch hangs only: several minutes, far above a normal duration on a slow, busy machine.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
