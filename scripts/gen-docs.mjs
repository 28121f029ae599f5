#!/usr/bin/env node
// Regenerates the reference docs that tests keep in sync with the code: docs/errors.md (from
// src/errors.ts) and docs/cli.md (from the commander definitions). Run after `npm run build`: node scripts/gen-docs.mjs
import { writeFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from '../dist/src/errors.js';

let errors = `# Error codes

Every error brainstack returns carries a stable, machine-readable \`code\`. HTTP responses are JSON \`{"code": "…", "message": "…"}\` with the status below; the CLI prints \`brainstack: <message> (<code>)\` and exits 1 (failure), 2 (usage), or 3 (not found). Branch on the code, never on the message. This list is checked against \`src/errors.ts\` by \`test/errors-catalogue.test.ts\`; regenerate it with \`node scripts/gen-docs.mjs\`.

Authentication failures are deliberately generic to the caller (\`invalid_credentials\`); the audit log records the real reason.

| code | HTTP status | meaning |
| --- | --- | --- |
`;
for (const [code, { status, summary }] of Object.entries(ERROR_CATALOGUE)) errors += `| \`${code}\` | ${status} | ${summary.replace(/\|/g, '\\|')} |\n`;
writeFileSync('docs/errors.md', errors);
console.log('wrote docs/errors.md');

const { buildProgram } = await import('../dist/src/cli/main.js');
const { commandReference } = await import('../dist/src/cli/reference.js');
writeFileSync('docs/cli.md', commandReference(buildProgram()));
console.log('wrote docs/cli.md');
