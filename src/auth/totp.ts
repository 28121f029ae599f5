import { authenticator } from 'otplib';

const STEP_SECONDS = 30;
const totp = authenticator.clone({ window: 1, step: STEP_SECONDS, digits: 6 });

export function generateTotpSecret(): string {
  return totp.generateSecret(20);
}

export function totpUri(username: string, issuer: string, secret: string): string {
  return totp.keyuri(username, issuer, secret);
}

/** The current code for a secret (for tests and the operator's `doctor`). */
export function currentTotpCode(secret: string, at = Date.now()): string {
  return totp.clone({ epoch: at }).generate(secret);
}

/**
 * Checks a code against the secret with ±1 step of drift. Returns the time step that matched
 * (to refuse its reuse), or null.
 */
export function matchTotpStep(secret: string, code: string, at = Date.now()): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totp.clone({ epoch: at }).checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(at / 1000 / STEP_SECONDS) + delta;
}
