import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { MasterKeyring } from '../crypto/master-key.js';
import { openText, seal } from '../crypto/seal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import { describeName, normaliseUsername } from './names.js';
import { hashPassword } from './passwords.js';
import { generateTotpSecret, matchTotpStep, totpUri } from './totp.js';

/** What listings show of a user: never a hash or a secret column. */
export interface UserSummary {
  id: string;
  username: string;
  totp: boolean;
  disabled: boolean;
  created_at: number;
  roles: string[];
}

export interface AccountsOptions {
  minPasswordLength: number;
  /** Shown in authenticator apps next to the account. */
  totpIssuer: string;
  now?: () => number;
}

/** Largest password accepted: argon2 handles more, but nobody types 1 KiB and it bounds work. */
export const MAX_PASSWORD_LENGTH = 1024;

const totpContext = (userId: string, column: 'totp_sealed' | 'totp_pending_sealed') => ({ table: 'users', column, row: userId });

/** Users: creation, passwords, enable/disable, TOTP enrolment. Every change is audited in its transaction. */
export class Accounts {
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly keyring: MasterKeyring,
    private readonly audit: AuditLog,
    private readonly options: AccountsOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  checkPassword(password: string): void {
    if (password.length < this.options.minPasswordLength) {
      throw new BrainstackError('weak_password', `the password must have at least ${this.options.minPasswordLength} characters`);
    }
    if (password.length > MAX_PASSWORD_LENGTH) throw new BrainstackError('weak_password', `the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  }

  async create(rawName: string, password: string | null, actor: string, roles: string[] = []): Promise<UserSummary> {
    const username = normaliseUsername(rawName);
    if (password !== null) this.checkPassword(password);
    const passwordHash = password === null ? null : await hashPassword(password);
    const id = randomUUID();
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
      if (exists) throw new BrainstackError('user_exists', `a user named ${describeName(username)} already exists`);
      await trx.insertInto('users').values({ id, username, password_hash: passwordHash, totp_sealed: null, totp_pending_sealed: null, totp_last_step: null, disabled_at: null, created_at: now, updated_at: now }).execute();
      for (const roleName of roles) {
        const role = await trx.selectFrom('roles').select('id').where('name', '=', roleName).executeTakeFirst();
        if (!role) throw new BrainstackError('role_not_found', `no role named ${describeName(roleName)}`);
        await trx.insertInto('user_roles').values({ user_id: id, role_id: role.id, source: 'local', created_at: now }).execute();
      }
      await this.audit.record({ event: 'user.created', outcome: 'success', actor, subject: username, details: { roles } }, trx);
    });
    return this.show(username);
  }

  /** Finds a user by name; throws `user_not_found` naming it. */
  async require(rawName: string): Promise<{ id: string; username: string }> {
    const username = rawName.normalize('NFC');
    const row = await this.db.selectFrom('users').select(['id', 'username']).where('username', '=', username).executeTakeFirst();
    if (!row) throw new BrainstackError('user_not_found', `no user named ${describeName(rawName)}`);
    return row;
  }

  async show(name: string): Promise<UserSummary> {
    const { id } = await this.require(name);
    const [summary] = await this.summaries([id]);
    return summary as UserSummary;
  }

  async showById(id: string): Promise<UserSummary | undefined> {
    const [summary] = await this.summaries([id]);
    return summary;
  }

  async list(): Promise<UserSummary[]> {
    return this.summaries();
  }

  private async summaries(ids?: string[]): Promise<UserSummary[]> {
    let query = this.db.selectFrom('users').select(['id', 'username', 'totp_sealed', 'disabled_at', 'created_at']).orderBy('username');
    if (ids) query = query.where('id', 'in', ids);
    const users = await query.execute();
    if (users.length === 0) return [];
    const roleRows = await this.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select(['user_roles.user_id', 'roles.name'])
      .where('user_roles.user_id', 'in', users.map((u) => u.id))
      .orderBy('roles.name')
      .execute();
    return users.map((u) => ({
      id: u.id,
      username: u.username,
      totp: u.totp_sealed !== null,
      disabled: u.disabled_at !== null,
      created_at: Number(u.created_at),
      roles: roleRows.filter((r) => r.user_id === u.id).map((r) => r.name),
    }));
  }

  async setPassword(name: string, password: string, actor: string): Promise<void> {
    this.checkPassword(password);
    const user = await this.require(name);
    const passwordHash = await hashPassword(password);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: passwordHash, updated_at: this.now() }).where('id', '=', user.id).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await this.audit.record({ event: 'user.password_changed', outcome: 'success', actor, subject: user.username }, trx);
    });
  }

  /** Disables the account and ends all its sessions at once. */
  async disable(name: string, actor: string): Promise<void> {
    const user = await this.require(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ disabled_at: this.now(), updated_at: this.now() }).where('id', '=', user.id).where('disabled_at', 'is', null).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await this.audit.record({ event: 'user.disabled', outcome: 'success', actor, subject: user.username }, trx);
    });
  }

  async enable(name: string, actor: string): Promise<void> {
    const user = await this.require(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ disabled_at: null, updated_at: this.now() }).where('id', '=', user.id).execute();
      await this.audit.record({ event: 'user.enabled', outcome: 'success', actor, subject: user.username }, trx);
    });
  }

  /**
   * Starts TOTP enrolment: a new secret is sealed as pending and returned once as an otpauth URI.
   * It becomes active only after `confirmTotp` proves the authenticator has it.
   */
  async beginTotp(userId: string, actor: string): Promise<{ secret: string; uri: string }> {
    const user = await this.db.selectFrom('users').select(['id', 'username', 'totp_sealed']).where('id', '=', userId).executeTakeFirst();
    if (!user) throw new BrainstackError('user_not_found');
    if (user.totp_sealed !== null) throw new BrainstackError('totp_already_enrolled', 'TOTP is already active for this account; an operator can reset it');
    const secret = generateTotpSecret();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ totp_pending_sealed: seal(this.keyring, totpContext(userId, 'totp_pending_sealed'), secret), updated_at: this.now() }).where('id', '=', userId).execute();
      await this.audit.record({ event: 'totp.enrolment_started', outcome: 'info', actor, subject: user.username }, trx);
    });
    return { secret, uri: totpUri(user.username, this.options.totpIssuer, secret) };
  }

  async confirmTotp(userId: string, code: string, actor: string, ip: string | null = null): Promise<void> {
    const user = await this.db.selectFrom('users').select(['id', 'username', 'totp_pending_sealed']).where('id', '=', userId).executeTakeFirst();
    if (!user) throw new BrainstackError('user_not_found');
    if (user.totp_pending_sealed === null) throw new BrainstackError('totp_not_pending');
    const secret = openText(this.keyring, totpContext(userId, 'totp_pending_sealed'), user.totp_pending_sealed);
    const step = matchTotpStep(secret, code, this.now());
    if (step === null) {
      await this.audit.record({ event: 'totp.enrolment_confirmed', outcome: 'failure', actor, subject: user.username, ip, details: { reason: 'wrong_code' } });
      throw new BrainstackError('invalid_totp', 'the code does not match; check the authenticator app and the device clock');
    }
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ totp_sealed: seal(this.keyring, totpContext(userId, 'totp_sealed'), secret), totp_pending_sealed: null, totp_last_step: step, updated_at: this.now() })
        .where('id', '=', userId)
        .execute();
      await this.audit.record({ event: 'totp.enrolled', outcome: 'success', actor, subject: user.username, ip }, trx);
    });
  }

  /** Operator: set up TOTP directly (for handing the URI to a user out of band). */
  async enrolTotpDirect(name: string, actor: string): Promise<{ secret: string; uri: string }> {
    const user = await this.require(name);
    const secret = generateTotpSecret();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ totp_sealed: seal(this.keyring, totpContext(user.id, 'totp_sealed'), secret), totp_pending_sealed: null, totp_last_step: null, updated_at: this.now() }).where('id', '=', user.id).execute();
      await this.audit.record({ event: 'totp.enrolled', outcome: 'success', actor, subject: user.username, details: { by: 'operator' } }, trx);
    });
    return { secret, uri: totpUri(user.username, this.options.totpIssuer, secret) };
  }

  /** Removes a user's TOTP (lost phone): they log in with the password and enrol again. Ends their sessions. */
  async resetTotp(name: string, actor: string): Promise<void> {
    const user = await this.require(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ totp_sealed: null, totp_pending_sealed: null, totp_last_step: null, updated_at: this.now() }).where('id', '=', user.id).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await this.audit.record({ event: 'totp.reset', outcome: 'success', actor, subject: user.username }, trx);
    });
  }

  /** Deletes the account row (call after revoking its devices); the audit trail keeps its history. */
  async delete(name: string, actor: string): Promise<void> {
    const user = await this.require(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('users').where('id', '=', user.id).execute();
      await this.audit.record({ event: 'user.deleted', outcome: 'success', actor, subject: user.username, details: { id: user.id } }, trx);
    });
  }

  /** Opens a user's active TOTP secret (login only). */
  openTotpSecret(userId: string, sealed: string): string {
    return openText(this.keyring, totpContext(userId, 'totp_sealed'), sealed);
  }
}
