/**
 * A real OpenID Connect provider for the tests: the `oidc-provider` package (the certified
 * Node implementation) on HTTPS with its own login page (its development interactions: any
 * password, the login name is the account id). Accounts and their groups live in a JSON file
 * read on every lookup, so a test (or another process) changes someone's groups by rewriting it.
 *
 * In-process: `startOidcProvider(...)`. As a process (inside a lab namespace):
 *   node dist/test/helpers/oidc-provider.js DIR HOST PORT
 * prints `oidc provider listening at ISSUER` and serves until killed.
 */
import { createServer, type Server } from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { createSelfSignedCertificate } from '../../src/crypto/tls.js';

export interface TestAccount {
  username: string;
  email: string;
  groups: string[];
  /** Authentication methods the provider reports (`amr`). */
  amr?: string[];
}

export interface TestClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface TestProvider {
  issuer: string;
  /** The provider's certificate, to give brainstack as `ca_file`. */
  caPem: string;
  accountsFile: string;
  /** The provider's private signing key (JWK): lets a test play a provider that signs bad ID tokens. */
  signingKey: Record<string, unknown>;
  setAccount(sub: string, account: TestAccount | undefined): void;
  close(): Promise<void>;
}

export const ACCOUNTS_FILE = 'accounts.json';
export const CLIENTS_FILE = 'clients.json';

function readJson<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/** Starts the provider; `dir` holds accounts.json and clients.json (written by the test). */
export async function startOidcProvider(options: { dir?: string; host?: string; port: number; clients?: TestClient[]; accounts?: Record<string, TestAccount> }): Promise<TestProvider> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'brainstack-oidc-'));
  const host = options.host ?? '127.0.0.1';
  const issuer = `https://${host}:${options.port}`;
  const accountsFile = join(dir, ACCOUNTS_FILE);
  if (options.accounts) writeFileSync(accountsFile, JSON.stringify(options.accounts));
  if (options.clients) writeFileSync(join(dir, CLIENTS_FILE), JSON.stringify(options.clients));
  const clients = readJson<TestClient[]>(join(dir, CLIENTS_FILE), []);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-provider-1', alg: 'ES256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ ...c, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256' })),
    jwks: { keys: [signingKey] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    // Groups in the ID token itself (as Keycloak and Entra ID do with a mapper).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    // A refresh token for every client allowed the grant, like providers configured for offline use.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // First-party client: no consent screen; every requested scope and claim is granted.
    loadExistingGrant: async (ctx) => {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (!session?.accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid profile email groups offline_access');
      grant.addOIDCClaims(['preferred_username', 'email', 'groups']);
      await grant.save();
      return grant;
    },
    findAccount: async (_ctx, sub) => {
      const account = readJson<Record<string, TestAccount>>(accountsFile, {})[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, preferred_username: account.username, name: account.username, email: account.email, groups: account.groups, ...(account.amr ? { amr: account.amr } : {}) }),
      };
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 86_400, Grant: 86_400, Interaction: 600, Session: 3_600 },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>error</title><pre id="op-error">${JSON.stringify(out).replace(/</g, '&lt;')}</pre>`;
    },
  });
  const tls = createSelfSignedCertificate([host]);
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  return {
    issuer,
    caPem: tls.certPem,
    accountsFile,
    signingKey,
    setAccount(sub, account) {
      const accounts = readJson<Record<string, TestAccount>>(accountsFile, {});
      if (account) accounts[sub] = account;
      else delete accounts[sub];
      writeFileSync(accountsFile, JSON.stringify(accounts));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, host, port] = process.argv.slice(2);
  const started = await startOidcProvider({ dir: dir as string, host: host as string, port: Number(port) });
  writeFileSync(join(dir as string, 'ca.pem'), started.caPem);
  console.log(`oidc provider listening at ${started.issuer}`);
}
