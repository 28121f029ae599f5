import { BrainstackError } from '../errors.js';

/** Role names and assistant names: lower-case, start with a letter or digit, at most 64 characters. */
export const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Scopes: `assistant:<name>` or `assistant:*`. */
export const SCOPE = /^assistant:(\*|[a-z0-9][a-z0-9._-]{0,63})$/;

/**
 * Usernames: 1–64 letters or digits of any script, plus `. _ @ -`, normalised to NFC. Quotes,
 * spaces, control characters and anything else are refused, so a name is safe in a log line,
 * a config file name or a table.
 */
export const USERNAME = /^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$/u;

export function normaliseUsername(raw: string): string {
  const name = raw.normalize('NFC');
  if (!USERNAME.test(name)) {
    throw new BrainstackError('invalid_name', `invalid username ${describeName(raw)}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
  }
  return name;
}

export function checkRoleName(name: string): string {
  if (!ROLE_NAME.test(name)) {
    throw new BrainstackError('invalid_name', `invalid role name ${describeName(name)}: use [a-z0-9][a-z0-9._-]*, at most 64 characters`);
  }
  return name;
}

export function checkScope(scope: string): string {
  if (!SCOPE.test(scope)) {
    throw new BrainstackError('invalid_name', `invalid scope ${describeName(scope)}: use assistant:<name> with <name> matching [a-z0-9][a-z0-9._-]*, or assistant:*`);
  }
  return scope;
}

/** Quotes a user-supplied name for a message: control characters escaped, cut to 60 characters. */
export function describeName(name: string): string {
  const shown = name.length > 60 ? `${name.slice(0, 57)}...` : name;
  return `'${shown.replace(/[\u0000-\u001f\u007f-\u009f\\']/g, (c) => (c === "'" || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}'`;
}
