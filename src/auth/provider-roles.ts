import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';

export interface ProviderRoleSync {
  userId: string;
  username: string;
  /** `user_roles.source` of the provider, e.g. `sso:corp`. */
  source: string;
  /** Role names the provider's groups map to now. */
  roles: string[];
  now: number;
}

/**
 * Makes a user's provider-given roles exactly `roles`: roles the provider no longer gives are
 * removed, new ones added. Roles an operator granted (`source = local`) are never touched, and a
 * role held locally stays local. Role names that do not exist are skipped and audited.
 */
export async function syncProviderRoles(trx: Transaction<Database>, audit: AuditLog, sync: ProviderRoleSync): Promise<{ added: string[]; removed: string[] }> {
  const existing = sync.roles.length === 0 ? [] : await trx.selectFrom('roles').select(['id', 'name']).where('name', 'in', sync.roles).execute();
  const missing = sync.roles.filter((name) => !existing.some((r) => r.name === name));
  const held = await trx.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').select(['roles.id', 'roles.name', 'user_roles.source']).where('user_roles.user_id', '=', sync.userId).execute();
  const removed = held.filter((h) => h.source === sync.source && !existing.some((r) => r.id === h.id));
  const added = existing.filter((r) => !held.some((h) => h.id === r.id));
  if (removed.length > 0) {
    await trx.deleteFrom('user_roles').where('user_id', '=', sync.userId).where('source', '=', sync.source).where('role_id', 'in', removed.map((r) => r.id)).execute();
  }
  if (added.length > 0) {
    await trx.insertInto('user_roles').values(added.map((r) => ({ user_id: sync.userId, role_id: r.id, source: sync.source, created_at: sync.now }))).execute();
  }
  if (added.length > 0 || removed.length > 0 || missing.length > 0) {
    await audit.record({ event: 'sso.roles_synced', outcome: missing.length > 0 ? 'info' : 'success', actor: sync.source, subject: sync.username, details: { added: added.map((r) => r.name), removed: removed.map((r) => r.name), unknown_roles: missing } }, trx);
  }
  return { added: added.map((r) => r.name), removed: removed.map((r) => r.name) };
}
