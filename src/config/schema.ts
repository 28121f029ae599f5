/**
 * JSON schema of `brainstack.json`, with defaults. Keys are snake_case; paths in error messages
 * are dotted (`login.require_totp`). Relative file paths are relative to the brainstack home.
 */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    public_url: { type: 'string', pattern: '^https?://[^\\s/]+(/[^\\s]*)?$', default: 'https://localhost:8443' },
    listen: { type: 'string', pattern: '^(\\[[0-9a-fA-F:]+\\]|[^:\\s]+):[0-9]{1,5}$', default: '0.0.0.0:8443' },
    internal_listen: { type: 'string', pattern: '^(\\[[0-9a-fA-F:]+\\]|[^:\\s]+):[0-9]{1,5}$', default: '127.0.0.1:8444' },
    master_key_file: { type: 'string', minLength: 1, default: 'master.key' },
    trust_proxy: { type: 'boolean', default: false },
    log_level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    database: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', pattern: '^(sqlite:|postgres://|postgresql://)', default: 'sqlite:brainstack.db' },
        busy_timeout_ms: { type: 'integer', minimum: 0, default: 5000 },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        cert_file: { type: 'string', minLength: 1, default: 'tls/cert.pem' },
        key_file: { type: 'string', minLength: 1, default: 'tls/key.pem' },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        request_timeout: { type: 'integer', minimum: 1, maximum: 300, default: 10 },
        headers_timeout: { type: 'integer', minimum: 1, maximum: 300, default: 5 },
        body_limit: { type: 'integer', minimum: 1024, maximum: 10485760, default: 65536 },
        auth_body_limit: { type: 'integer', minimum: 256, maximum: 65536, default: 4096 },
      },
    },
    session: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        idle_timeout: { type: 'integer', minimum: 60, default: 1800 },
        absolute_timeout: { type: 'integer', minimum: 60, default: 43200 },
        cookie_name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', default: '__Host-brainstack' },
      },
    },
    login: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        require_totp: { type: 'boolean', default: false },
        min_password_length: { type: 'integer', minimum: 8, maximum: 128, default: 12 },
        free_failures: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
        max_failures_per_hour: { type: 'integer', minimum: 1, maximum: 100, default: 100 },
        max_backoff: { type: 'integer', minimum: 1, maximum: 86400, default: 900 },
        rate_limit_per_minute: { type: 'integer', minimum: 1, default: 60 },
      },
    },
    tokens: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        audience: { type: 'string', minLength: 1, default: 'brainstack' },
        lifetime: { type: 'integer', minimum: 30, maximum: 900, default: 600 },
        algorithm: { type: 'string', enum: ['ES256', 'EdDSA'], default: 'ES256' },
        refresh_lifetime_days: { type: 'integer', minimum: 1, maximum: 365, default: 30 },
      },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        webhook_url: { type: 'string', pattern: '^https?://' },
        webhook_secret_file: { type: 'string', minLength: 1 },
        failed_logins_per_account: { type: 'integer', minimum: 1, default: 10 },
        failed_logins_per_ip: { type: 'integer', minimum: 1, default: 50 },
        scope_denials_per_device: { type: 'integer', minimum: 1, default: 20 },
        window_seconds: { type: 'integer', minimum: 10, default: 300 },
        tls_expiry_days: { type: 'integer', minimum: 1, default: 14 },
      },
    },
    wireguard: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        interface: { type: 'string', pattern: '^[A-Za-z0-9_=+.-]{1,15}$' },
        endpoint: { type: 'string', default: 'localhost:51820' },
        listen_port: { type: 'integer', minimum: 1, maximum: 65535, default: 51820 },
        cidr: { type: 'string', pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$', default: '10.8.0.0/24' },
        allowed_ips: { type: 'array', items: { type: 'string' }, default: ['10.8.0.0/24'] },
        dns: { type: 'array', items: { type: 'string' }, default: [] },
        persistent_keepalive: { type: 'integer', minimum: 0, maximum: 3600, default: 25 },
        device_lifetime_days: { type: 'integer', minimum: 1, maximum: 3650, default: 90 },
        reconcile_interval: { type: 'integer', minimum: 1, default: 60 },
        expiry_sweep_interval: { type: 'integer', minimum: 1, maximum: 10, default: 5 },
        ip_quarantine: { type: 'integer', minimum: 0, default: 3600 },
        wg_command: { type: 'string', minLength: 1, default: 'wg' },
      },
    },
  },
} as const;
