import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import type { Accounts } from './accounts.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { accountKey, addressKey, type LoginThrottle } from './throttle.js';
import { matchTotpStep } from './totp.js';
import { USERNAME } from './names.js';

export interface LoginAttempt {
  username: string;
  password: string;
  totp?: string | undefined;
  ip: string;
}

export interface LoginResult {
  userId: string;
  username: string;
  /** The session satisfies the server's second-factor policy. */
  mfa: boolean;
  /** The user has TOTP enrolled. */
  totpEnrolled: boolean;
}

type FailureReason = 'unknown_user' | 'wrong_password' | 'no_password' | 'disabled' | 'wrong_totp' | 'totp_replay' | 'invalid_username';

/**
 * Password + TOTP login. Every failure looks the same to the caller (`invalid_credentials`, same
 * body, same work: unknown users verify against a dummy hash); the audit log gets the real reason.
 */
export class PasswordLogin {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly accounts: Accounts,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditLog,
    private readonly options: { requireTotp: boolean; now?: () => number },
  ) {}

  async login(attempt: LoginAttempt): Promise<LoginResult> {
    const now = this.options.now ?? Date.now;
    const username = attempt.username.normalize('NFC');
    const keys = [accountKey(username), addressKey(attempt.ip)];
    try {
      await this.throttle.check(keys);
    } catch (err) {
      await this.audit.record({ event: 'login', outcome: 'failure', subject: username.slice(0, 128), ip: attempt.ip, details: { reason: 'throttled' } });
      throw err;
    }

    const user = USERNAME.test(username)
      ? await this.db.selectFrom('users').select(['id', 'username', 'password_hash', 'disabled_at', 'totp_sealed', 'totp_last_step']).where('username', '=', username).executeTakeFirst()
      : undefined;
    const passwordOk = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), attempt.password);

    let reason: FailureReason | undefined;
    if (!USERNAME.test(username)) reason = 'invalid_username';
    else if (!user) reason = 'unknown_user';
    else if (user.password_hash === null) reason = 'no_password';
    else if (!passwordOk) reason = 'wrong_password';
    else if (user.disabled_at !== null) reason = 'disabled';
    if (reason !== undefined || !user) return this.fail(keys, username, attempt.ip, reason ?? 'unknown_user');

    if (user.totp_sealed !== null) {
      if (attempt.totp === undefined || attempt.totp === '') {
        await this.audit.record({ event: 'login', outcome: 'info', actor: user.username, subject: user.username, ip: attempt.ip, details: { reason: 'totp_required' } });
        throw new BrainstackError('totp_required', 'enter the code from your authenticator app');
      }
      const secret = this.accounts.openTotpSecret(user.id, user.totp_sealed);
      const step = matchTotpStep(secret, attempt.totp, now());
      if (step === null) return this.fail(keys, username, attempt.ip, 'wrong_totp');
      // Accept each time step once: the conditional update wins for exactly one request.
      const claimed = await this.db
        .updateTable('users')
        .set({ totp_last_step: step })
        .where('id', '=', user.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return this.fail(keys, username, attempt.ip, 'totp_replay');
    }

    await this.throttle.reset(keys[0] as string);
    const totpEnrolled = user.totp_sealed !== null;
    await this.audit.record({ event: 'login', outcome: 'success', actor: user.username, subject: user.username, ip: attempt.ip, details: { method: totpEnrolled ? 'password+totp' : 'password' } });
    return { userId: user.id, username: user.username, mfa: totpEnrolled || !this.options.requireTotp, totpEnrolled };
  }

  private async fail(keys: string[], username: string, ip: string, reason: FailureReason): Promise<never> {
    const locks = await this.throttle.fail(keys);
    await this.audit.record({ event: 'login', outcome: 'failure', subject: username.slice(0, 128), ip, details: { reason } });
    const accountLock = locks[keys[0] as string] ?? 0;
    if (accountLock > Date.now()) {
      await this.audit.record({ event: 'login.lockout', outcome: 'info', subject: username.slice(0, 128), ip, details: { until: accountLock } });
    }
    throw new BrainstackError('invalid_credentials', 'invalid username, password or code');
  }
}
