import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import { checkRoleName, checkScope, describeName } from './names.js';

export interface RoleSummary {
  name: string;
  description: string;
  scopes: string[];
  members: number;
  created_at: number;
}

/**
 * Role-based access: roles hold `assistant:<name>` scopes, users hold roles, and a user's scopes
 * are the union over their roles.
 */
export class Rbac {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  private async requireRole(db: Kysely<Database>, name: string): Promise<{ id: string; name: string }> {
    const role = await db.selectFrom('roles').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!role) throw new BrainstackError('role_not_found', `no role named ${describeName(name)}`);
    return role;
  }

  private async requireUser(db: Kysely<Database>, name: string): Promise<{ id: string; username: string }> {
    const user = await db.selectFrom('users').select(['id', 'username']).where('username', '=', name.normalize('NFC')).executeTakeFirst();
    if (!user) throw new BrainstackError('user_not_found', `no user named ${describeName(name)}`);
    return user;
  }

  async create(name: string, scopes: string[], actor: string, description = ''): Promise<RoleSummary> {
    checkRoleName(name);
    const unique = [...new Set(scopes.map(checkScope))];
    await this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('roles').select('id').where('name', '=', name).executeTakeFirst()) {
        throw new BrainstackError('role_exists', `a role named ${describeName(name)} already exists`);
      }
      const id = randomUUID();
      await trx.insertInto('roles').values({ id, name, description, created_at: this.now() }).execute();
      if (unique.length > 0) await trx.insertInto('role_scopes').values(unique.map((scope) => ({ role_id: id, scope }))).execute();
      await this.audit.record({ event: 'role.created', outcome: 'success', actor, subject: name, details: { scopes: unique } }, trx);
    });
    return this.show(name);
  }

  async show(name: string): Promise<RoleSummary> {
    const [role] = await this.summaries(name);
    if (!role) throw new BrainstackError('role_not_found', `no role named ${describeName(name)}`);
    return role;
  }

  async list(): Promise<RoleSummary[]> {
    return this.summaries();
  }

  private async summaries(name?: string): Promise<RoleSummary[]> {
    let query = this.db.selectFrom('roles').select(['id', 'name', 'description', 'created_at']).orderBy('name');
    if (name !== undefined) query = query.where('name', '=', name);
    const roles = await query.execute();
    if (roles.length === 0) return [];
    const ids = roles.map((r) => r.id);
    const scopes = await this.db.selectFrom('role_scopes').select(['role_id', 'scope']).where('role_id', 'in', ids).orderBy('scope').execute();
    const members = await this.db.selectFrom('user_roles').select(['role_id']).where('role_id', 'in', ids).execute();
    return roles.map((r) => ({
      name: r.name,
      description: r.description,
      scopes: scopes.filter((s) => s.role_id === r.id).map((s) => s.scope),
      members: members.filter((m) => m.role_id === r.id).length,
      created_at: Number(r.created_at),
    }));
  }

  async grant(roleName: string, scopes: string[], actor: string): Promise<RoleSummary> {
    const unique = [...new Set(scopes.map(checkScope))];
    await this.db.transaction().execute(async (trx) => {
      const role = await this.requireRole(trx, roleName);
      for (const scope of unique) {
        await trx.insertInto('role_scopes').values({ role_id: role.id, scope }).onConflict((oc) => oc.columns(['role_id', 'scope']).doNothing()).execute();
      }
      await this.audit.record({ event: 'role.scopes_granted', outcome: 'success', actor, subject: role.name, details: { scopes: unique } }, trx);
    });
    return this.show(roleName);
  }

  async revoke(roleName: string, scopes: string[], actor: string): Promise<RoleSummary> {
    const unique = [...new Set(scopes.map(checkScope))];
    await this.db.transaction().execute(async (trx) => {
      const role = await this.requireRole(trx, roleName);
      await trx.deleteFrom('role_scopes').where('role_id', '=', role.id).where('scope', 'in', unique).execute();
      await this.audit.record({ event: 'role.scopes_revoked', outcome: 'success', actor, subject: role.name, details: { scopes: unique } }, trx);
    });
    return this.show(roleName);
  }

  async assign(username: string, roleName: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const user = await this.requireUser(trx, username);
      const role = await this.requireRole(trx, roleName);
      // A role the provider gave becomes local: the operator's grant outlives the next group sync.
      await trx.insertInto('user_roles').values({ user_id: user.id, role_id: role.id, source: 'local', created_at: this.now() }).onConflict((oc) => oc.columns(['user_id', 'role_id']).doUpdateSet({ source: 'local' })).execute();
      await this.audit.record({ event: 'role.assigned', outcome: 'success', actor, subject: user.username, details: { role: role.name } }, trx);
    });
  }

  async unassign(username: string, roleName: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const user = await this.requireUser(trx, username);
      const role = await this.requireRole(trx, roleName);
      await trx.deleteFrom('user_roles').where('user_id', '=', user.id).where('role_id', '=', role.id).execute();
      await this.audit.record({ event: 'role.unassigned', outcome: 'success', actor, subject: user.username, details: { role: role.name } }, trx);
    });
  }

  /** The union of the scopes of a user's roles, sorted. Pass `db` to read inside a transaction. */
  async scopesOf(userId: string, db: Kysely<Database> = this.db): Promise<string[]> {
    const rows = await db
      .selectFrom('user_roles')
      .innerJoin('role_scopes', 'role_scopes.role_id', 'user_roles.role_id')
      .select('role_scopes.scope')
      .distinct()
      .where('user_roles.user_id', '=', userId)
      .orderBy('role_scopes.scope')
      .execute();
    return rows.map((r) => r.scope);
  }

  async rolesOf(userId: string, db: Kysely<Database> = this.db): Promise<string[]> {
    const rows = await db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').select('roles.name').where('user_roles.user_id', '=', userId).orderBy('roles.name').execute();
    return rows.map((r) => r.name);
  }

  /** A user's roles with where each came from: `local` (an operator) or `sso:<provider>`. */
  async roleSourcesOf(userId: string): Promise<Array<{ role: string; source: string }>> {
    const rows = await this.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').select(['roles.name', 'user_roles.source']).where('user_roles.user_id', '=', userId).orderBy('roles.name').execute();
    return rows.map((r) => ({ role: r.name, source: r.source }));
  }

  /** Every scope any role grants (for the discovery document). */
  async allScopes(): Promise<string[]> {
    const rows = await this.db.selectFrom('role_scopes').select('scope').distinct().orderBy('scope').execute();
    return rows.map((r) => r.scope);
  }
}
