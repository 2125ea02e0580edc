#!/usr/bin/env node
// Transpiles the TypeScript sources to dist/ file by file (no bundling), so `fstore` runs on plain Node
// and a feature repo's `import ... from 'fstore'` loads the very modules the CLI uses.
// Type checking is `tsc --noEmit`'s job; this step only strips types, which takes well under a second.
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const sourceFolders = ['lib', 'bin', 'lambdas', 'examples', 'bench'];

function typeScriptFiles(folder) {
  const found = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) found.push(...typeScriptFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

const entryPoints = sourceFolders
  .map((folder) => join(root, folder))
  .filter((folder) => existsSync(folder))
  .flatMap(typeScriptFiles);
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints,
  outdir: join(root, 'dist'),
  outbase: root,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
chmodSync(join(root, 'dist', 'bin', 'fstore.js'), 0o755);
