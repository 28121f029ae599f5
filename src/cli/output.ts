import { BrainstackError, isBrainstackError } from '../errors.js';

/** Exit codes of every command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3 } as const;

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Characters a terminal would interpret: shown escaped, so a name cannot repaint the screen. */
function safeCell(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : value === null || value === undefined ? '-' : String(value);
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain aligned table: header row, then one row per record. */
export function formatTable(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => safeCell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] as string).length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ')).join('\n');
}

export function exitCodeFor(err: unknown): number {
  if (!isBrainstackError(err)) return EXIT.failure;
  if (err.code.endsWith('_not_found') || err.code === 'home_missing') return EXIT.notFound;
  if (err.code === 'usage' || err.code === 'invalid_name' || err.code === 'validation_failed' || err.code === 'input_required' || err.code === 'weak_password') return EXIT.usage;
  return EXIT.failure;
}

export function describeError(err: unknown): string {
  if (isBrainstackError(err)) return `brainstack: ${err.message} (${err.code})`;
  return `brainstack: unexpected error: ${(err as Error)?.message ?? String(err)}`;
}

export function usageError(message: string): BrainstackError {
  return new BrainstackError('usage', message);
}
