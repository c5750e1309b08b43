import { Ajv } from 'ajv';
import { GatewayError } from '../errors.js';
import type { AllowedUrl } from '../types.js';

/** Process settings from the environment, validated once at start and frozen. */
export interface Settings {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  partnersDir: string;
  mappingsDir: string;
  maxBodyBytes: number;
  deliveryBatch: number;
  /** Sends in flight to one target at a time, within a batch. */
  deliveryTargetConcurrency: number;
  /** Delivery retry defaults (a route's `retry` overrides them): first delay, cap, and maximum age. */
  deliveryBackoffMs: number;
  deliveryBackoffMaxMs: number;
  deliveryMaxAgeMs: number;
  /** A delivery claimed by a worker that stopped renewing it for this long is claimed again. */
  deliveryLeaseMs: number;
  /** Circuit breaker defaults (a route's `breaker` overrides them): failures in a row, pause. */
  deliveryBreakerFailures: number;
  deliveryBreakerCoolDownMs: number;
  pollMs: number;
  logLevel: string;
  /** API keys of the ERP (id and SHA-256 of each), for the /v1/erp endpoints. */
  erpApiKeys: { id: string; sha256: string }[];
  /**
   * Events out (decision 0037): where the ERP may register event webhooks and broker subscribers
   * (ERP_EVENT_URLS, comma separated; an entry ending in / allows URLs below it; a broker entry
   * with a user name logs in with ERP_EVENT_BROKER_PASSWORD), and how long a subscriber may take.
   */
  events: { erpUrls: AllowedUrl[]; timeoutMs: number };
  /** How often outbound documents are checked for overdue acknowledgments. */
  ackCheckMs: number;
  /** How often closed hours are rolled up for the console's charts (STATS_ROLLUP_MS, default 5 minutes). */
  statsRollupMs: number;
  /** How often credentials' last uses are written (CREDENTIAL_USAGE_FLUSH_MS, default a minute). */
  credentialUsageFlushMs: number;
  /** Reload partners/ and mappings/ when a file in them changes (CONFIG_WATCH, default on). */
  configWatch: boolean;
  /** How long a graceful stop may take before claimed work is released (STOP_TIMEOUT_SECONDS). */
  stopTimeoutMs: number;
  /**
   * TRUST_PROXY: take the client's address from the last X-Forwarded-For entry, the one the load
   * balancer in front appends (per-address limits and lockouts, audit); off: the connection's address.
   */
  trustProxy: boolean;
  /** The hosted SFTP door: off, or its port and where its host keys live. */
  sftp: { enabled: boolean; port: number; hostKeysDir: string; lockoutFailures: number; lockoutMs: number; loginDelayMs: number };
  /** Remote SFTP servers of partners: how often due pickups and deliveries are looked for. */
  remoteSftpCheckMs: number;
  /**
   * AS2: our default AS2 name, where our key pairs live, the URL partners post asynchronous MDNs to
   * (our POST /as2 as they reach it), and how often sends and async MDNs due are looked for.
   */
  as2: { id: string; keysDir: string; publicUrl?: string; expiryWarnDays: number };
  /** The HTTPS listener (mTLS): off, or its port and certificate (generated for development when not given). */
  https: { enabled: boolean; port: number; certFile?: string; keyFile?: string; dir: string };
  oauth: {
    /** Our issuer identifier; default: the HTTP listener's URL. */
    issuer?: string;
    audience: string;
    tokenTtlSeconds: number;
    /** Token requests per minute from one address. */
    tokenRatePerMinute: number;
    external?: { issuer: string; jwksUrl: string; audience: string };
  };
  webhookToleranceSeconds: number;
  /** API keys of security administrators (the admin API). */
  adminApiKeys: { id: string; sha256: string }[];
  /**
   * Prometheus metrics (docs/metrics.md): the bearer token a scraper presents (METRICS_TOKEN; without
   * it there is no /metrics), and the port of their own listener (METRICS_PORT; without it /metrics
   * is on the HTTP listener).
   */
  metrics: { token?: string; port?: number };
  /**
   * Interpretation worker threads (decision 0010): how many (INTERPRET_WORKERS, default one fewer
   * than the cores, at least one), the worker time one message may take, the heap of each worker.
   */
  interpret: { workers?: number; timeoutMs: number; memoryMb: number };
  /** The portal's sign-in (decision 0023, docs/portal.md). */
  portal: PortalSettings;
}

export interface PortalSettings {
  /** A session ends after this long without a request, and this long after sign-in whatever the activity. */
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** `auto`: the cookie is Secure when the request came over HTTPS; `on`: always (TLS ends at a proxy in front). */
  cookieSecure: 'auto' | 'on';
  /** Failed sign-ins within the window that lock a username, or an address, for the window. */
  lockoutUserFailures: number;
  lockoutAddressFailures: number;
  lockoutMs: number;
  /** Staff sign-in through an OpenID Connect provider (decision 0025); absent when PORTAL_OIDC_ISSUER is unset. */
  oidc?: PortalOidcSettings;
}

export interface PortalOidcSettings {
  issuer: string;
  /** The provider's name on the sign-in page's button. */
  name: string;
  clientId: string;
  /** The client secret, or the file that holds it; neither for a public client (PKCE alone). */
  clientSecret?: string;
  clientSecretFile?: string;
  /** The public URL of /portal/oidc/callback, as registered at the provider. */
  redirectUrl: string;
  groupsClaim: string;
  /** Provider group → portal role; staff roles only, suppliers never sign in this way. */
  roleMap: ReadonlyMap<string, string>;
}

/** An ERP_EVENT_URLS entry: a webhook or broker URL, without a password. */
const EVENT_URL_ENTRY = '(https?|amqps?|nats)://(?![^/@,]*:[^/@,]*@)[^,\\s]+';

const schema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    HOST: { type: 'string', default: '127.0.0.1' },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    GATEWAY_DATA_DIR: { type: 'string', minLength: 1, default: './data' },
    PARTNERS_DIR: { type: 'string', minLength: 1, default: './partners' },
    MAPPINGS_DIR: { type: 'string', minLength: 1, default: './mappings' },
    GATEWAY_MAX_BODY_BYTES: { type: 'integer', minimum: 1024, default: 104857600 },
    DELIVERY_BATCH: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    DELIVERY_TARGET_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 1000, default: 16 },
    DELIVERY_BACKOFF_MS: { type: 'integer', minimum: 1, default: 1000 },
    DELIVERY_BACKOFF_MAX_MS: { type: 'integer', minimum: 1, default: 300000 },
    DELIVERY_MAX_AGE_SECONDS: { type: 'integer', minimum: 1, default: 86400 },
    DELIVERY_LEASE_MS: { type: 'integer', minimum: 300, default: 30000 },
    DELIVERY_BREAKER_FAILURES: { type: 'integer', minimum: 1, default: 5 },
    DELIVERY_BREAKER_COOLDOWN_MS: { type: 'integer', minimum: 10, default: 30000 },
    POLL_MS: { type: 'integer', minimum: 10, default: 500 },
    ERP_API_KEYS: { type: 'string', pattern: '^[a-z0-9]{4,32}:[0-9a-f]{64}(,[a-z0-9]{4,32}:[0-9a-f]{64})*$' },
    // No password in an entry: a broker entry's user logs in with ERP_EVENT_BROKER_PASSWORD.
    ERP_EVENT_URLS: { type: 'string', pattern: `^${EVENT_URL_ENTRY}(,${EVENT_URL_ENTRY})*$` },
    ERP_EVENT_BROKER_PASSWORD: { type: 'string' },
    EVENT_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 120000, default: 10000 },
    ACK_CHECK_MS: { type: 'integer', minimum: 100, default: 60000 },
    STATS_ROLLUP_MS: { type: 'integer', minimum: 100, default: 300000 },
    CREDENTIAL_USAGE_FLUSH_MS: { type: 'integer', minimum: 100, default: 60000 },
    CONFIG_WATCH: { enum: ['on', 'off'], default: 'on' },
    STOP_TIMEOUT_SECONDS: { type: 'number', exclusiveMinimum: 0, maximum: 3600, default: 8 },
    TRUST_PROXY: { enum: ['on', 'off'], default: 'off' },
    SFTP: { enum: ['on', 'off'], default: 'on' },
    SFTP_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 2222 },
    SFTP_HOST_KEYS_DIR: { type: 'string', minLength: 1 },
    SFTP_LOCKOUT_FAILURES: { type: 'integer', minimum: 1, default: 5 },
    SFTP_LOCKOUT_SECONDS: { type: 'integer', minimum: 1, default: 900 },
    SFTP_LOGIN_DELAY_MS: { type: 'integer', minimum: 0, default: 250 },
    REMOTE_SFTP_CHECK_MS: { type: 'integer', minimum: 10, default: 5000 },
    AS2_ID: { type: 'string', pattern: '^[\\x21-\\x7e]([\\x20-\\x7e]{0,126}[\\x21-\\x7e])?$', default: 'PARTNER-GATEWAY' },
    AS2_KEYS_DIR: { type: 'string', minLength: 1 },
    AS2_PUBLIC_URL: { type: 'string', pattern: '^https?://' },
    AS2_EXPIRY_WARN_DAYS: { type: 'integer', minimum: 1, default: 30 },
    HTTPS: { enum: ['on', 'off'], default: 'on' },
    HTTPS_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
    TLS_CERT_FILE: { type: 'string', minLength: 1 },
    TLS_KEY_FILE: { type: 'string', minLength: 1 },
    OAUTH_ISSUER: { type: 'string', pattern: '^https?://' },
    OAUTH_AUDIENCE: { type: 'string', minLength: 1, default: 'partner-gateway' },
    OAUTH_TOKEN_TTL_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 300 },
    OAUTH_TOKEN_RATE_PER_MINUTE: { type: 'integer', minimum: 1, default: 60 },
    OAUTH_EXTERNAL_ISSUER: { type: 'string', minLength: 1 },
    OAUTH_EXTERNAL_JWKS_URL: { type: 'string', pattern: '^https?://' },
    OAUTH_EXTERNAL_AUDIENCE: { type: 'string', minLength: 1 },
    WEBHOOK_TOLERANCE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 300 },
    ADMIN_API_KEYS: { type: 'string', pattern: '^[a-z0-9]{4,32}:[0-9a-f]{64}(,[a-z0-9]{4,32}:[0-9a-f]{64})*$' },
    INTERPRET_WORKERS: { type: 'integer', minimum: 1, maximum: 256 },
    INTERPRET_TIMEOUT_MS: { type: 'integer', minimum: 10, default: 120000 },
    INTERPRET_WORKER_MEMORY_MB: { type: 'integer', minimum: 32, default: 512 },
    PORTAL_SESSION_IDLE_SECONDS: { type: 'integer', minimum: 60, maximum: 86400, default: 1800 },
    PORTAL_SESSION_MAX_SECONDS: { type: 'integer', minimum: 300, maximum: 604800, default: 43200 },
    PORTAL_COOKIE_SECURE: { enum: ['auto', 'on'], default: 'auto' },
    PORTAL_LOCKOUT_USER_FAILURES: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    PORTAL_LOCKOUT_ADDRESS_FAILURES: { type: 'integer', minimum: 1, maximum: 10000, default: 20 },
    PORTAL_LOCKOUT_SECONDS: { type: 'integer', minimum: 60, maximum: 86400, default: 900 },
    PORTAL_OIDC_ISSUER: { type: 'string', pattern: '^https?://' },
    PORTAL_OIDC_NAME: { type: 'string', minLength: 1, maxLength: 60, default: 'single sign-on' },
    PORTAL_OIDC_CLIENT_ID: { type: 'string', minLength: 1 },
    PORTAL_OIDC_CLIENT_SECRET: { type: 'string', minLength: 1 },
    PORTAL_OIDC_CLIENT_SECRET_FILE: { type: 'string', minLength: 1 },
    PORTAL_OIDC_REDIRECT_URL: { type: 'string', pattern: '^https?://[^/]+/portal/oidc/callback$' },
    PORTAL_OIDC_GROUPS_CLAIM: { type: 'string', minLength: 1, default: 'groups' },
    PORTAL_OIDC_ROLE_MAP: { type: 'string', minLength: 1 },
    METRICS_TOKEN: { type: 'string', pattern: '^[\\x21-\\x7e]{16,256}$' },
    METRICS_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    LOG_LEVEL: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
  },
} as const;

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true });
const validate = ajv.compile(schema);

/**
 * The ERP's allow-list: a broker entry with a user name (`amqp://gateway@rabbit:5672/`) allows the
 * URL without it, and the gateway logs in there as that user with ERP_EVENT_BROKER_PASSWORD.
 */
function erpEventUrls(e: Record<string, unknown>): AllowedUrl[] {
  if (!e.ERP_EVENT_URLS) return [];
  return (e.ERP_EVENT_URLS as string).split(',').map((entry): AllowedUrl => {
    const url = new URL(entry);
    if (!url.username || !/^(amqps?|nats):$/.test(url.protocol)) return entry;
    if (!e.ERP_EVENT_BROKER_PASSWORD)
      throw new GatewayError(
        'GW_CONFIG_INVALID',
        `ERP_EVENT_URLS names user ${decodeURIComponent(url.username)} at ${url.host}: set ERP_EVENT_BROKER_PASSWORD.`,
      );
    const username = decodeURIComponent(url.username);
    url.username = '';
    return { url: url.href, username, passwordEnv: 'ERP_EVENT_BROKER_PASSWORD' };
  });
}

export function readSettings(env: Record<string, string | undefined>): Settings {
  const e: Record<string, unknown> = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const external = ['OAUTH_EXTERNAL_ISSUER', 'OAUTH_EXTERNAL_JWKS_URL', 'OAUTH_EXTERNAL_AUDIENCE'].filter((k) => e[k] !== undefined);
  if (external.length && external.length < 3)
    throw new GatewayError(
      'GW_CONFIG_INVALID',
      'An external token issuer needs OAUTH_EXTERNAL_ISSUER, OAUTH_EXTERNAL_JWKS_URL and OAUTH_EXTERNAL_AUDIENCE together.',
    );
  if (e.METRICS_PORT !== undefined && !e.METRICS_TOKEN)
    throw new GatewayError('GW_CONFIG_INVALID', 'METRICS_PORT needs METRICS_TOKEN: metrics are served to a scraper that presents the token.');
  if (Boolean(e.TLS_CERT_FILE) !== Boolean(e.TLS_KEY_FILE)) throw new GatewayError('GW_CONFIG_INVALID', 'TLS_CERT_FILE and TLS_KEY_FILE go together.');
  if (!validate(e)) {
    const first = validate.errors?.[0];
    throw new GatewayError('GW_CONFIG_INVALID', `Environment variable ${first?.instancePath.slice(1)} ${first?.message}.`);
  }
  return Object.freeze({
    port: e.PORT as number,
    host: e.HOST as string,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL as string } : {}),
    dataDir: e.GATEWAY_DATA_DIR as string,
    partnersDir: e.PARTNERS_DIR as string,
    mappingsDir: e.MAPPINGS_DIR as string,
    maxBodyBytes: e.GATEWAY_MAX_BODY_BYTES as number,
    deliveryBatch: e.DELIVERY_BATCH as number,
    deliveryTargetConcurrency: e.DELIVERY_TARGET_CONCURRENCY as number,
    deliveryBackoffMs: e.DELIVERY_BACKOFF_MS as number,
    deliveryBackoffMaxMs: e.DELIVERY_BACKOFF_MAX_MS as number,
    deliveryMaxAgeMs: (e.DELIVERY_MAX_AGE_SECONDS as number) * 1000,
    deliveryLeaseMs: e.DELIVERY_LEASE_MS as number,
    deliveryBreakerFailures: e.DELIVERY_BREAKER_FAILURES as number,
    deliveryBreakerCoolDownMs: e.DELIVERY_BREAKER_COOLDOWN_MS as number,
    pollMs: e.POLL_MS as number,
    logLevel: e.LOG_LEVEL as string,
    erpApiKeys: keyPairs(e.ERP_API_KEYS),
    events: { erpUrls: erpEventUrls(e), timeoutMs: e.EVENT_TIMEOUT_MS as number },
    adminApiKeys: keyPairs(e.ADMIN_API_KEYS),
    metrics: {
      ...(e.METRICS_TOKEN ? { token: e.METRICS_TOKEN as string } : {}),
      ...(e.METRICS_PORT !== undefined ? { port: e.METRICS_PORT as number } : {}),
    },
    https: {
      enabled: e.HTTPS === 'on',
      port: e.HTTPS_PORT as number,
      ...(e.TLS_CERT_FILE ? { certFile: e.TLS_CERT_FILE as string, keyFile: e.TLS_KEY_FILE as string } : {}),
      dir: `${e.GATEWAY_DATA_DIR as string}/tls`,
    },
    oauth: {
      ...(e.OAUTH_ISSUER ? { issuer: (e.OAUTH_ISSUER as string).replace(/\/$/, '') } : {}),
      audience: e.OAUTH_AUDIENCE as string,
      tokenTtlSeconds: e.OAUTH_TOKEN_TTL_SECONDS as number,
      tokenRatePerMinute: e.OAUTH_TOKEN_RATE_PER_MINUTE as number,
      ...(external.length
        ? {
            external: {
              issuer: e.OAUTH_EXTERNAL_ISSUER as string,
              jwksUrl: e.OAUTH_EXTERNAL_JWKS_URL as string,
              audience: e.OAUTH_EXTERNAL_AUDIENCE as string,
            },
          }
        : {}),
    },
    webhookToleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS as number,
    interpret: {
      ...(e.INTERPRET_WORKERS !== undefined ? { workers: e.INTERPRET_WORKERS as number } : {}),
      timeoutMs: e.INTERPRET_TIMEOUT_MS as number,
      memoryMb: e.INTERPRET_WORKER_MEMORY_MB as number,
    },
    portal: {
      sessionIdleMs: (e.PORTAL_SESSION_IDLE_SECONDS as number) * 1000,
      sessionMaxMs: (e.PORTAL_SESSION_MAX_SECONDS as number) * 1000,
      cookieSecure: e.PORTAL_COOKIE_SECURE as 'auto' | 'on',
      lockoutUserFailures: e.PORTAL_LOCKOUT_USER_FAILURES as number,
      lockoutAddressFailures: e.PORTAL_LOCKOUT_ADDRESS_FAILURES as number,
      lockoutMs: (e.PORTAL_LOCKOUT_SECONDS as number) * 1000,
      ...(e.PORTAL_OIDC_ISSUER ? { oidc: portalOidc(e) } : {}),
    },
    ackCheckMs: e.ACK_CHECK_MS as number,
    statsRollupMs: e.STATS_ROLLUP_MS as number,
    credentialUsageFlushMs: e.CREDENTIAL_USAGE_FLUSH_MS as number,
    configWatch: e.CONFIG_WATCH === 'on',
    stopTimeoutMs: (e.STOP_TIMEOUT_SECONDS as number) * 1000,
    trustProxy: e.TRUST_PROXY === 'on',
    sftp: {
      enabled: e.SFTP === 'on',
      port: e.SFTP_PORT as number,
      hostKeysDir: (e.SFTP_HOST_KEYS_DIR as string | undefined) ?? `${e.GATEWAY_DATA_DIR as string}/sftp/host-keys`,
      lockoutFailures: e.SFTP_LOCKOUT_FAILURES as number,
      lockoutMs: (e.SFTP_LOCKOUT_SECONDS as number) * 1000,
      loginDelayMs: e.SFTP_LOGIN_DELAY_MS as number,
    },
    remoteSftpCheckMs: e.REMOTE_SFTP_CHECK_MS as number,
    as2: {
      id: e.AS2_ID as string,
      keysDir: (e.AS2_KEYS_DIR as string | undefined) ?? `${e.GATEWAY_DATA_DIR as string}/as2/keys`,
      ...(e.AS2_PUBLIC_URL ? { publicUrl: e.AS2_PUBLIC_URL as string } : {}),
      expiryWarnDays: e.AS2_EXPIRY_WARN_DAYS as number,
    },
  });
}

/** Roles a provider's group may grant: staff only (decision 0025). Kept here, not imported, so settings stay below the security code. */
const OIDC_ROLES = ['partner-manager', 'security', 'operations', 'admin'];

/** The OIDC variables, checked together: the issuer needs a client id, a redirect URL and a role map. */
function portalOidc(e: Record<string, unknown>): PortalOidcSettings {
  const missing = ['PORTAL_OIDC_CLIENT_ID', 'PORTAL_OIDC_REDIRECT_URL', 'PORTAL_OIDC_ROLE_MAP'].filter((k) => e[k] === undefined);
  if (missing.length) throw new GatewayError('GW_CONFIG_INVALID', `PORTAL_OIDC_ISSUER is set but ${missing.join(', ')} not.`);
  if (e.PORTAL_OIDC_CLIENT_SECRET && e.PORTAL_OIDC_CLIENT_SECRET_FILE)
    throw new GatewayError('GW_CONFIG_INVALID', 'Give PORTAL_OIDC_CLIENT_SECRET or PORTAL_OIDC_CLIENT_SECRET_FILE, not both.');
  const roleMap = new Map<string, string>();
  for (const pair of (e.PORTAL_OIDC_ROLE_MAP as string).split(',')) {
    const [group, role] = pair.split('=').map((v) => v.trim()) as [string, string | undefined];
    if (!group || !role || !OIDC_ROLES.includes(role))
      throw new GatewayError('GW_CONFIG_INVALID', `PORTAL_OIDC_ROLE_MAP: "${pair}" is not group=role with a role of ${OIDC_ROLES.join(', ')}.`);
    roleMap.set(group, role);
  }
  return {
    issuer: e.PORTAL_OIDC_ISSUER as string,
    name: e.PORTAL_OIDC_NAME as string,
    clientId: e.PORTAL_OIDC_CLIENT_ID as string,
    ...(e.PORTAL_OIDC_CLIENT_SECRET ? { clientSecret: e.PORTAL_OIDC_CLIENT_SECRET as string } : {}),
    ...(e.PORTAL_OIDC_CLIENT_SECRET_FILE ? { clientSecretFile: e.PORTAL_OIDC_CLIENT_SECRET_FILE as string } : {}),
    redirectUrl: e.PORTAL_OIDC_REDIRECT_URL as string,
    groupsClaim: e.PORTAL_OIDC_GROUPS_CLAIM as string,
    roleMap,
  };
}

/** `id:sha256,id:sha256` as the ERP_API_KEYS and ADMIN_API_KEYS variables hold them. */
function keyPairs(v: unknown): { id: string; sha256: string }[] {
  return v ? (v as string).split(',').map((pair) => ({ id: pair.split(':')[0] as string, sha256: pair.split(':')[1] as string })) : [];
}
