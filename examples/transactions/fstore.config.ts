import { defineConfig } from 'fstore';

export default defineConfig({
  project: 'transactions',
  definitions: ['features.ts'],
  provider: 'local',
  local: { dataDir: '.fstore' },
});
