import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Database } from '../db/schema.js';
import type { MasterKeyring } from '../crypto/master-key.js';
import { openText, seal } from '../crypto/seal.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { SsoProviderConfig } from '../config/config.js';
import { homePath } from '../config/config.js';
import { BrainstackError } from '../errors.js';
import { USERNAME } from './names.js';
import { syncProviderRoles } from './provider-roles.js';

/** Revokes a user the way `brainstack admin revoke user` does (devices, tunnel, tokens, sessions). */
export type RevokeUser = (userId: string, actor: string, reason: string) => Promise<unknown>;

export interface SingleSignOnOptions {
  dir: string;
  publicUrl: string;
  loginTimeoutMs: number;
  revalidateAfterMs: number;
  now?: () => number;
  /** Replaces the HTTP client towards providers (tests that play a misbehaving provider). */
  fetch?: oidc.CustomFetch;
}

export interface SsoLoginResult {
  userId: string;
  username: string;
  returnTo: string;
  provider: string;
}

/** Where the portal may send the browser after a login: the portal or the device-approval page. */
const RETURN_TO = /^\/(device(\?user_code=[A-Za-z0-9-]{0,16})?)?$/;
export const safeReturnTo = (value: unknown): string => (typeof value === 'string' && RETURN_TO.test(value) ? value : '/');

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const settingName = (provider: string) => `sso.${provider}.client_secret`;
/** `user_roles.source` of roles that came from a provider's groups. */
export const providerSource = (provider: string) => `sso:${provider}`;

type Claims = Record<string, unknown>;

/** Reasons a login or re-validation is refused, for the audit log (the caller sees a generic code). */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly code: 'sso_failed' | 'sso_access_denied' | 'sso_unavailable',
    readonly details: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

/**
 * Log in through upstream OpenID Connect providers (authorization code + PKCE + state + nonce,
 * with openid-client), link accounts by (issuer, subject), let roles follow the provider's groups,
 * and re-check each linked account with its provider at least every `revalidate_after`.
 */
export class SingleSignOn {
  private readonly configurations = new Map<string, Promise<oidc.Configuration>>();
  private readonly byName: Map<string, SsoProviderConfig>;
  private readonly now: () => number;

  constructor(
    providers: SsoProviderConfig[],
    private readonly db: Kysely<Database>,
    private readonly keyring: MasterKeyring,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly revokeUser: RevokeUser,
    private readonly options: SingleSignOnOptions,
  ) {
    this.byName = new Map(providers.map((p) => [p.name, p]));
    this.now = options.now ?? Date.now;
  }

  list(): Array<{ name: string; display_name: string }> {
    return [...this.byName.values()].map((p) => ({ name: p.name, display_name: p.display_name ?? p.name }));
  }

  private provider(name: string): SsoProviderConfig {
    const provider = this.byName.get(name);
    if (!provider) throw new BrainstackError('sso_provider_not_found', `no single sign-on provider named '${name.slice(0, 32)}'`);
    return provider;
  }

  redirectUri(name: string): string {
    return `${this.options.publicUrl.replace(/\/$/, '')}/sso/${name}/callback`;
  }

  private async clientSecret(provider: SsoProviderConfig): Promise<string | undefined> {
    if (provider.client_secret_file) return readFileSync(homePath(this.options.dir, provider.client_secret_file), 'utf8').trim();
    const row = await this.db.selectFrom('server_settings').select('value').where('name', '=', settingName(provider.name)).executeTakeFirst();
    return row ? openText(this.keyring, { table: 'server_settings', column: 'value', row: settingName(provider.name) }, row.value) : undefined;
  }

  /** Stores a provider's client secret sealed in the database (used when no `client_secret_file` is set). */
  async setClientSecret(name: string, secret: string, actor: string): Promise<void> {
    this.provider(name);
    if (secret.length === 0 || secret.length > 1024) throw new BrainstackError('validation_failed', 'the client secret must be 1-1024 characters');
    const row = settingName(name);
    const value = seal(this.keyring, { table: 'server_settings', column: 'value', row }, secret);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('server_settings').values({ name: row, value, updated_at: this.now() }).onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: this.now() })).execute();
      await this.audit.record({ event: 'sso.client_secret_set', outcome: 'success', actor, subject: name }, trx);
    });
    this.configurations.delete(name);
  }

  /** The provider's metadata and our client, discovered once (retried on the next call after a failure). */
  private configuration(provider: SsoProviderConfig): Promise<oidc.Configuration> {
    let pending = this.configurations.get(provider.name);
    if (!pending) {
      pending = (async () => {
        const secret = await this.clientSecret(provider);
        const fetchImpl = this.options.fetch ?? providerFetch(provider.ca_file ? readFileSync(homePath(this.options.dir, provider.ca_file), 'utf8') : undefined);
        const insecure = new URL(provider.issuer).protocol === 'http:';
        const configuration = await oidc.discovery(new URL(provider.issuer), provider.client_id, { redirect_uris: [this.redirectUri(provider.name)], response_types: ['code'] }, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
          [oidc.customFetch]: fetchImpl,
          timeout: 10,
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        });
        configuration[oidc.customFetch] = fetchImpl;
        // Verify ID token signatures against the provider's JWKS too, not only trust the TLS
        // channel of the token endpoint (which OIDC Core §3.1.3.7 would allow).
        oidc.enableNonRepudiationChecks(configuration);
        return configuration;
      })();
      pending.catch(() => this.configurations.delete(provider.name));
      this.configurations.set(provider.name, pending);
    }
    return pending.catch((err: unknown) => {
      this.logger.warn({ provider: provider.name, err: (err as Error).message }, 'single sign-on provider discovery failed');
      throw new BrainstackError('sso_unavailable', `the sign-in provider '${provider.name}' cannot be reached; try again later`);
    });
  }

  /**
   * Starts a login: returns the provider's authorization URL and a binding value for a cookie in
   * the browser that started it (the callback must come back to the same browser).
   */
  async begin(name: string, returnTo: string): Promise<{ authorizationUrl: string; binding: string }> {
    const provider = this.provider(name);
    const configuration = await this.configuration(provider);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const binding = randomBytes(32).toString('base64url');
    const now = this.now();
    const stateHash = sha256(state);
    await this.db.deleteFrom('sso_logins').where('expires_at', '<', now).execute();
    await this.db
      .insertInto('sso_logins')
      .values({ state_hash: stateHash, provider: name, browser_hash: sha256(binding), verifier_sealed: seal(this.keyring, { table: 'sso_logins', column: 'verifier_sealed', row: stateHash }, verifier), nonce, return_to: safeReturnTo(returnTo), created_at: now, expires_at: now + this.options.loginTimeoutMs })
      .execute();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri(name),
      scope: provider.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(provider.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    return { authorizationUrl: url.href, binding };
  }

  /**
   * Finishes a login at the callback: one-time state bound to this browser, code exchange with
   * PKCE, ID token validated (signature, issuer, audience, expiry, nonce) by openid-client; then
   * the account link, the allowed groups and the roles.
   */
  async complete(name: string, callbackUrl: URL, binding: string | undefined, ip: string): Promise<SsoLoginResult> {
    const provider = this.provider(name);
    try {
      const upstreamError = callbackUrl.searchParams.get('error');
      if (upstreamError) throw new Refusal('provider_error', 'sso_failed', { error: upstreamError.slice(0, 64), description: (callbackUrl.searchParams.get('error_description') ?? '').slice(0, 200) });
      const state = callbackUrl.searchParams.get('state');
      if (!state || state.length > 512) throw new Refusal('missing_state', 'sso_failed');
      const stateHash = sha256(state);
      // One use: whoever deletes the row owns the login.
      const row = await this.db.transaction().execute(async (trx) => {
        const found = await trx.selectFrom('sso_logins').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
        if (found) await trx.deleteFrom('sso_logins').where('state_hash', '=', stateHash).execute();
        return found;
      });
      if (!row) throw new Refusal('unknown_or_used_state', 'sso_failed');
      if (row.provider !== name) throw new Refusal('state_for_another_provider', 'sso_failed');
      if (Number(row.expires_at) <= this.now()) throw new Refusal('login_timed_out', 'sso_failed');
      if (!binding || sha256(binding) !== row.browser_hash) throw new Refusal('state_from_another_browser', 'sso_failed');
      const verifier = openText(this.keyring, { table: 'sso_logins', column: 'verifier_sealed', row: stateHash }, row.verifier_sealed);
      const configuration = await this.configuration(provider);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: row.nonce, idTokenExpected: true });
      } catch (err) {
        throw refusalFromOidc(err, 'code_exchange_failed');
      }
      const claims = tokens.claims() as Claims | undefined;
      if (!claims) throw new Refusal('no_id_token', 'sso_failed');
      checkMfa(provider, claims);
      const groups = await this.groupsOf(provider, configuration, claims, tokens.access_token);
      // Two first logins of one account at once: the second insert hits the (issuer, subject)
      // unique constraint; running the link again finds the account the first one created.
      const user = await this.link(provider, claims, groups, tokens.refresh_token, ip).catch((err: unknown) => {
        if (err instanceof Refusal || !/unique|duplicate/i.test((err as Error).message)) throw err;
        return this.link(provider, claims, groups, tokens.refresh_token, ip);
      });
      await this.audit.record({
        event: 'login',
        outcome: 'success',
        actor: user.username,
        subject: user.username,
        ip,
        details: { method: 'sso', provider: name, sub: claims.sub, amr: claims.amr ?? null, acr: claims.acr ?? null, groups, upstream_refresh: Boolean(tokens.refresh_token) },
      });
      return { userId: user.id, username: user.username, returnTo: row.return_to, provider: name };
    } catch (err) {
      if (err instanceof Refusal) {
        await this.audit.record({ event: 'login', outcome: 'failure', ip, details: { method: 'sso', provider: name, reason: err.reason, ...err.details } });
        throw new BrainstackError(err.code, refusalMessage(err.code));
      }
      throw err;
    }
  }

  private async groupsOf(provider: SsoProviderConfig, configuration: oidc.Configuration, claims: Claims, accessToken: string): Promise<string[]> {
    let value = claims[provider.groups_claim];
    if (value === undefined) {
      // Many providers put groups in the userinfo response only.
      try {
        const info = (await oidc.fetchUserInfo(configuration, accessToken, claims.sub as string)) as Claims;
        value = info[provider.groups_claim];
      } catch (err) {
        throw refusalFromOidc(err, 'userinfo_failed');
      }
    }
    if (value === undefined || value === null) return [];
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value.slice(0, 1000) as string[];
    throw new Refusal('groups_claim_malformed', 'sso_failed', { claim: provider.groups_claim });
  }

  /** Finds or creates the linked user, checks it may log in, and sets its provider roles. */
  private async link(provider: SsoProviderConfig, claims: Claims, groups: string[], upstreamRefresh: string | undefined, ip: string): Promise<{ id: string; username: string }> {
    const issuer = String(claims.iss);
    const subject = String(claims.sub);
    const now = this.now();
    const identity = await this.db.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id').select(['user_identities.id', 'user_identities.user_id', 'users.username', 'users.disabled_at']).where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    if (!allowed(provider, groups)) {
      if (identity && identity.disabled_at === null) await this.revokeUser(identity.user_id, `sso:${provider.name}`, 'no longer in an allowed group upstream');
      throw new Refusal('not_in_allowed_group', 'sso_access_denied', { sub: subject, groups });
    }
    if (identity && identity.disabled_at !== null) throw new Refusal('disabled', 'sso_access_denied', { user: identity.username });
    if (!identity && !provider.create_users) throw new Refusal('unknown_user_not_created', 'sso_access_denied', { sub: subject });

    return this.db.transaction().execute(async (trx) => {
      let user: { id: string; username: string };
      let identityId: string;
      if (identity) {
        user = { id: identity.user_id, username: identity.username };
        identityId = identity.id;
      } else {
        const username = await freeUsername(trx, claims, provider.username_claim);
        user = { id: randomUUID(), username };
        identityId = randomUUID();
        await trx.insertInto('users').values({ id: user.id, username, password_hash: null, totp_sealed: null, totp_pending_sealed: null, totp_last_step: null, disabled_at: null, created_at: now, updated_at: now }).execute();
        await trx.insertInto('user_identities').values({ id: identityId, user_id: user.id, provider: provider.name, issuer, subject, groups: '[]', upstream_refresh_sealed: null, created_at: now, last_login_at: now, validated_at: now }).execute();
        await this.audit.record({ event: 'user.created', outcome: 'success', actor: `sso:${provider.name}`, subject: username, ip, details: { provider: provider.name, sub: subject } }, trx);
      }
      const sealed = upstreamRefresh ? seal(this.keyring, { table: 'user_identities', column: 'upstream_refresh_sealed', row: identityId }, upstreamRefresh) : null;
      await trx.updateTable('user_identities').set({ groups: JSON.stringify(groups), upstream_refresh_sealed: sealed, last_login_at: now, validated_at: now }).where('id', '=', identityId).execute();
      await syncProviderRoles(trx, this.audit, { userId: user.id, username: user.username, source: providerSource(provider.name), roles: mappedRoles(provider, groups), now });
      return user;
    });
  }

  /**
   * Makes sure an SSO user's upstream account was confirmed within `revalidate_after` before a
   * refresh grant: re-checks now with the upstream refresh token, or asks for a new login.
   */
  async requireFreshIdentity(userId: string): Promise<void> {
    const identities = await this.db.selectFrom('user_identities').select(['id', 'provider', 'validated_at', 'upstream_refresh_sealed']).where('user_id', '=', userId).execute();
    for (const identity of identities) {
      if (Number(identity.validated_at) + this.options.revalidateAfterMs > this.now()) continue;
      const outcome = await this.revalidate(identity.id);
      if (outcome === 'valid') continue;
      if (outcome === 'revoked') throw new BrainstackError('invalid_grant', 'the upstream account is no longer allowed; access was revoked');
      if (outcome === 'unavailable') throw new BrainstackError('sso_unavailable', `the sign-in provider '${identity.provider}' cannot be reached to confirm the account; retry later`);
      throw new BrainstackError('invalid_grant', `sign in again through '${identity.provider}' (brainstack login --device-code): the provider's confirmation is older than sso.revalidate_after`);
    }
  }

  /**
   * Re-checks one linked account with its provider (refresh token grant, then groups). `revoked`
   * when the provider refuses or the account left the allowed groups: the user is revoked at once.
   */
  async revalidate(identityId: string): Promise<'valid' | 'revoked' | 'login_required' | 'unavailable' | 'busy'> {
    const identity = await this.db.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id').select(['user_identities.id', 'user_identities.user_id', 'user_identities.provider', 'user_identities.subject', 'user_identities.validated_at', 'user_identities.upstream_refresh_sealed', 'users.username', 'users.disabled_at']).where('user_identities.id', '=', identityId).executeTakeFirst();
    if (!identity || identity.disabled_at !== null) return 'revoked';
    const provider = this.byName.get(identity.provider);
    if (!provider) {
      // Not a revocation: a provider renamed or dropped by mistake must not cut everyone off. The
      // account cannot be confirmed, so its refresh grants are refused until it signs in again.
      this.logger.warn({ provider: identity.provider, user: identity.username }, 'a linked account belongs to a provider that is no longer configured');
      return 'login_required';
    }
    if (!identity.upstream_refresh_sealed) return 'login_required';
    // Claim the check (replicas and concurrent refreshes): whoever moves validated_at does it; a
    // crash mid-check leaves it due again a minute later.
    const retryAt = this.now() - this.options.revalidateAfterMs + 60_000;
    const claimed = await this.db.updateTable('user_identities').set({ validated_at: retryAt }).where('id', '=', identity.id).where('validated_at', '=', identity.validated_at).executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return 'busy';
    const refreshToken = openText(this.keyring, { table: 'user_identities', column: 'upstream_refresh_sealed', row: identity.id }, identity.upstream_refresh_sealed);
    const revoke = async (reason: string, details: Record<string, unknown>) => {
      await this.audit.record({ event: 'sso.revalidation', outcome: 'failure', actor: `sso:${provider.name}`, subject: identity.username, details: { reason, ...details } });
      await this.revokeUser(identity.user_id, `sso:${provider.name}`, reason);
      return 'revoked' as const;
    };
    try {
      const configuration = await this.configuration(provider);
      let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
      try {
        tokens = await oidc.refreshTokenGrant(configuration, refreshToken);
      } catch (err) {
        const refusal = refusalFromOidc(err, 'refresh_refused');
        if (refusal.code === 'sso_unavailable') throw refusal;
        return await revoke('upstream refused the refresh token', refusal.details);
      }
      const claims = (tokens.claims() as Claims | undefined) ?? ((await oidc.fetchUserInfo(configuration, tokens.access_token, identity.subject)) as Claims);
      if (String(claims.sub) !== identity.subject) return await revoke('upstream answered for another subject', {});
      const groups = await this.groupsOf(provider, configuration, claims, tokens.access_token);
      if (!allowed(provider, groups)) return await revoke('no longer in an allowed group upstream', { groups });
      const now = this.now();
      await this.db.transaction().execute(async (trx) => {
        const sealed = tokens.refresh_token ? seal(this.keyring, { table: 'user_identities', column: 'upstream_refresh_sealed', row: identity.id }, tokens.refresh_token) : identity.upstream_refresh_sealed;
        await trx.updateTable('user_identities').set({ groups: JSON.stringify(groups), upstream_refresh_sealed: sealed, validated_at: now }).where('id', '=', identity.id).execute();
        await syncProviderRoles(trx, this.audit, { userId: identity.user_id, username: identity.username, source: providerSource(provider.name), roles: mappedRoles(provider, groups), now });
        await this.audit.record({ event: 'sso.revalidation', outcome: 'success', actor: `sso:${provider.name}`, subject: identity.username, details: { groups } }, trx);
      });
      return 'valid';
    } catch (err) {
      const reason = err instanceof Refusal ? err.reason : (err as Error).message;
      this.logger.warn({ provider: provider.name, user: identity.username, reason }, 'single sign-on re-validation could not reach the provider; retrying in a minute');
      await this.audit.record({ event: 'sso.revalidation', outcome: 'info', actor: `sso:${provider.name}`, subject: identity.username, details: { reason: 'provider unavailable' } });
      return 'unavailable';
    }
  }

  /** Re-validates every linked account that is due and can be checked without the user. */
  async revalidateDue(limit = 50): Promise<{ checked: number; revoked: number }> {
    const due = await this.db
      .selectFrom('user_identities')
      .innerJoin('users', 'users.id', 'user_identities.user_id')
      .select('user_identities.id')
      .where('users.disabled_at', 'is', null)
      .where('user_identities.upstream_refresh_sealed', 'is not', null)
      // Accounts of providers no longer configured cannot be checked (see revalidate()).
      .where('user_identities.provider', 'in', [...this.byName.keys(), ''])
      .where('user_identities.validated_at', '<=', this.now() - this.options.revalidateAfterMs)
      .limit(limit)
      .execute();
    let revoked = 0;
    for (const { id } of due) if ((await this.revalidate(id)) === 'revoked') revoked += 1;
    return { checked: due.length, revoked };
  }

  /** The linked upstream accounts of a user (for `admin users show`). */
  async identitiesOf(userId: string): Promise<Array<{ provider: string; subject: string; groups: string[]; validated_at: number; upstream_refresh: boolean }>> {
    const rows = await this.db.selectFrom('user_identities').select(['provider', 'subject', 'groups', 'validated_at', 'upstream_refresh_sealed']).where('user_id', '=', userId).execute();
    return rows.map((r) => ({ provider: r.provider, subject: r.subject, groups: JSON.parse(r.groups) as string[], validated_at: Number(r.validated_at), upstream_refresh: r.upstream_refresh_sealed !== null }));
  }
}

function allowed(provider: SsoProviderConfig, groups: string[]): boolean {
  return provider.allowed_groups.length === 0 || groups.some((g) => provider.allowed_groups.includes(g));
}

function mappedRoles(provider: SsoProviderConfig, groups: string[]): string[] {
  return [...new Set(groups.flatMap((g) => (Object.hasOwn(provider.group_roles, g) ? (provider.group_roles[g] ?? []) : [])))].sort();
}

function checkMfa(provider: SsoProviderConfig, claims: Claims): void {
  const amr = Array.isArray(claims.amr) ? (claims.amr as unknown[]).map(String) : [];
  const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
  if (provider.required_amr.length > 0 && !amr.some((m) => provider.required_amr.includes(m))) throw new Refusal('required_amr_missing', 'sso_access_denied', { amr, required: provider.required_amr });
  if (provider.required_acr.length > 0 && (acr === undefined || !provider.required_acr.includes(acr))) throw new Refusal('required_acr_missing', 'sso_access_denied', { acr: acr ?? null, required: provider.required_acr });
}

/** A username for a new SSO user: from the configured claim, else the email's local part, else the subject; made unique. */
async function freeUsername(db: Kysely<Database>, claims: Claims, claim: string): Promise<string> {
  const candidates = [claims[claim], typeof claims.email === 'string' ? claims.email.split('@')[0] : undefined, claims.sub]
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.normalize('NFC').replace(/[^\p{L}\p{N}._@-]/gu, '-').replace(/^[^\p{L}\p{N}]+/u, '').slice(0, 56))
    .filter((v) => USERNAME.test(v));
  const base = candidates[0] ?? `sso-${randomBytes(4).toString('hex')}`;
  for (let i = 1; i < 100; i += 1) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!(await db.selectFrom('users').select('id').where('username', '=', name).executeTakeFirst())) return name;
  }
  return `${base}-${randomBytes(3).toString('hex')}`;
}

/** openid-client's errors → a refusal: the provider refused (`sso_failed`) or could not be reached. */
function refusalFromOidc(err: unknown, reason: string): Refusal {
  if (err instanceof Refusal) return err;
  const e = err as { code?: string; error?: string; error_description?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.error) return new Refusal(reason, 'sso_failed', { error: e.error, description: (e.error_description ?? '').slice(0, 200) });
  // oauth4webapi's checks (OAUTH_*) and jose's (ERR_JW*): the answer was there and wrong.
  if (e.code?.startsWith('OAUTH_') || e.code?.startsWith('ERR_JW')) {
    return new Refusal(reason, 'sso_failed', { check: e.code, message: (e.message ?? '').slice(0, 200) });
  }
  return new Refusal(reason, 'sso_unavailable', { message: (e.message ?? String(err)).slice(0, 200), cause: e.cause?.code ?? null });
}

function refusalMessage(code: 'sso_failed' | 'sso_access_denied' | 'sso_unavailable'): string {
  if (code === 'sso_access_denied') return 'your account at the sign-in provider is not allowed to use this service; ask an administrator';
  if (code === 'sso_unavailable') return 'the sign-in provider cannot be reached; try again later';
  return 'the sign-in did not complete; start again from the login page';
}

/** fetch towards a provider, trusting an extra CA when one is configured. */
function providerFetch(ca: string | undefined): oidc.CustomFetch {
  const dispatcher = new Agent({ connect: ca ? { ca } : {}, headersTimeout: 10_000, bodyTimeout: 10_000 });
  // The two fetch types differ only in nominal details (undici's own Response class).
  return ((url: string, options: { method: string; headers: Record<string, string>; body?: unknown; redirect?: string; signal?: AbortSignal }) =>
    undiciFetch(url, { method: options.method, headers: options.headers, body: options.body as string | undefined, redirect: 'manual', ...(options.signal ? { signal: options.signal } : {}), dispatcher })) as unknown as oidc.CustomFetch;
}
