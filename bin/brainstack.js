#!/usr/bin/env node
// Entry point of the `brainstack` command. The TypeScript sources are compiled to dist/ by
// `npm ci` (the `prepare` script); if dist/ is missing (a checkout without install scripts),
// compile once on first use.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
const { main } = await import(entry);
process.exitCode = await main(process.argv);
