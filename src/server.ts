import { hostname } from 'node:os';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { As2Inbound } from './channels/as2/inbound.js';
import { As2KeyRing } from './channels/as2/keys.js';
import { As2Transports } from './channels/as2/transport.js';
import { expiringCertificates } from './channels/as2/expiry.js';
import { PartnerCertificates } from './channels/as2/partner-certificates.js';
import { createHttpApp, createMetricsApp } from './channels/http/app.js';
import { type Route, routeTable } from './channels/http/openapi/route-table.js';
import { PortalOidc } from './security/portal-oidc.js';
import { PortalAccess } from './security/portal-sign-in.js';
import { PartnerFiles } from './channels/sftp/files.js';
import { sftpPushTransport } from './channels/sftp/push.js';
import { RemoteSftpDoor } from './channels/sftp/remote.js';
import { startSftpServer, type SftpServer } from './channels/sftp/server.js';
import { loadConfig, type As2Partner, type GatewayConfig } from './config/load.js';
import type { Cert } from './formats/as2/certificates.js';
import type { Settings } from './config/env.js';
import { ConfigWatcher } from './config/watch.js';
import { routePolicy, type RetryPolicy } from './delivery/policy.js';
import { BrokerTransports } from './delivery/brokers.js';
import { erpTransports } from './delivery/erp.js';
import { queueMailboxPushes, releaseClaims } from './delivery/outbox.js';
import type { OutboxItem } from './delivery/transport.js';
import type { AllowedUrl } from './types.js';
import { deliverBatch } from './delivery/worker.js';
import { eventWebhookTransport } from './delivery/event-webhook.js';
import { subscriptionView, type Subscription } from './delivery/subscriptions.js';
import { publishExpiringCredentials } from './pipeline/business-events.js';
import { WorkLoop } from './pipeline/loop.js';
import { rollUpHours } from './pipeline/ops-rollups.js';
import { flagOverdueAcks } from './pipeline/outbound.js';
import { documentDeliverySettled } from './pipeline/delivery-effects.js';
import { processBatch } from './pipeline/process.js';
import { InterpretPool } from './pipeline/interpret-pool.js';
import { Receiver } from './pipeline/receive.js';
import { GatewayMetrics } from './observability/metrics.js';
import { registerCredentialExpiry, registerStoreGauges } from './observability/store-gauges.js';
import { audit } from './security/audit.js';
import { CredentialStore, normalizeFingerprint } from './security/credentials.js';
import { SignalListener, SignalSender } from './store/signals.js';
import { withLifecycleStates } from './pipeline/partner-lifecycle.js';
import { expiringCredentials } from './security/expiry.js';
import { serverCredentials } from './security/mtls.js';
import { TokenEndpoint } from './security/oauth.js';
import { RateLimiter } from './security/rate-limit.js';
import { MasterKeys } from './security/secrets.js';
import { TokenService } from './security/tokens.js';
import { createServer as createHttpsServer } from 'node:https';

/**
 * Messages claimed for interpretation per transaction: their small bodies go to the worker pool at
 * once, and one commit covers them all (bench/e2e.ts measures it).
 */
const INTERPRET_BATCH = 50;

/** How often expiring credentials are looked for, to tell event subscribers (each is told once). */
const EXPIRY_CHECK_MS = 3_600_000;

/** Attempts at posting an asynchronous MDN we owe before it goes to dead letter (its maximum age bounds it too). */
const OWED_MDN_ATTEMPTS = 10;

export interface Gateway {
  /** The HTTP listener's address once started. */
  url: string;
  /** The HTTPS listener (mTLS), unless HTTPS=off, and the certificate clients check it with. */
  https?: { url: string; certFile: string };
  /** The METRICS_PORT listener's address, when metrics have a listener of their own. */
  metricsUrl?: string;
  /**
   * The process's Prometheus metrics (docs/metrics.md). A store that is not the pipeline's own
   * registers its gauges here, e.g. `metrics.registerOpenExceptions(source)`.
   */
  metrics: GatewayMetrics;
  /** The hosted SFTP door, unless SFTP=off. */
  sftp?: SftpServer;
  /** The HTTP app's routes, method and path (the OpenAPI document must describe each: decision 0039). */
  routes: readonly Route[];
  /** Credentials and tokens (the admin API and the CLI use the same). */
  security: { store: CredentialStore; tokens: TokenService; keys: MasterKeys };
  config(): GatewayConfig;
  /** Loads partners/ and mappings/ again; keeps the running configuration if the new one is invalid. */
  reload(): Promise<void>;
  /**
   * Stops accepting (HTTP, HTTPS, SFTP), commits what was received, and lets the work loops finish
   * the step in progress: nothing this process claimed stays leased once it resolves.
   */
  stop(): Promise<void>;
  /**
   * Hands this process's claimed deliveries back (those claimed before `lockedBefore`, when given):
   * for a stop that takes too long, or after the embedded database restarted. Returns how many.
   */
  release(lockedBefore?: Date): Promise<number>;
}

export function configEnv(settings: Settings, env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...env, GATEWAY_DATA_DIR: path.resolve(settings.dataDir) };
}

/**
 * Composition root: builds the receiver, the two work loops (interpretation, delivery) and the HTTP
 * door over one knex instance, and starts them. Any number of these can share one database.
 */
export async function startGateway(opts: {
  settings: Settings;
  knex: Knex;
  log: Logger;
  env?: Record<string, string | undefined>;
  /** The portal's clock (sessions, lockouts); tests move it instead of waiting. */
  now?: () => Date;
}): Promise<Gateway> {
  const { settings, knex, log } = opts;
  // Subscriptions are read afresh by a new gateway (the database may be another one).
  subscriptionView.invalidate();
  const env = configEnv(settings, opts.env ?? process.env);
  const fromFiles = (replace: string[] = []) => loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env, replace });
  // The profiles, with the lifecycle states the database holds (decision 0034); `loaded` keeps the files' own.
  let loaded = await fromFiles();
  const withStates = (c: GatewayConfig) =>
    withLifecycleStates(knex, c).catch((err: Error) => {
      log.warn({ err: err.message }, "cannot read partner lifecycle states now; the profiles' states apply until the next change or reload");
      return c;
    });
  const load = async () => {
    loaded = await fromFiles();
    return withStates(loaded);
  };
  let config = await withStates(loaded);
  log.info({ partners: [...config.partners.keys()], mappings: config.mappings.size }, 'configuration loaded');

  // Secrets at rest are sealed under the master key; credentials issued at run time live in the store.
  const keys = MasterKeys.fromEnv(opts.env ?? process.env, settings.dataDir);
  if (keys.generated) log.warn({ file: keys.generated }, 'made a development master key; supply GATEWAY_MASTER_KEY_FILE in production');
  const store = new CredentialStore(knex, keys, () => config);
  // Counters move where their events happen; the database's gauges are read when Prometheus scrapes.
  // Only configured partners are labels (a removed one counts as `other`).
  const metrics = new GatewayMetrics((id) => config.partners.has(id));
  registerStoreGauges(metrics, knex, log);
  registerCredentialExpiry(metrics, () => store.list(), log);
  // Deliveries to the ERP carry X-Gateway-Signature under every active ERP signing secret.
  const signingSecrets = async () => (await store.usable('erp-signing-secret', null)).map((c) => store.open(c).toString('utf8'));

  const workerId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  // Retry and breaker settings are read at each failure, so a reloaded profile applies to queued deliveries too.
  const retryDefaults: RetryPolicy = {
    maxAgeMs: settings.deliveryMaxAgeMs,
    backoffMs: settings.deliveryBackoffMs,
    backoffMaxMs: settings.deliveryBackoffMaxMs,
    breakerFailures: settings.deliveryBreakerFailures,
    breakerCoolDownMs: settings.deliveryBreakerCoolDownMs,
  };
  // Every transfer that leaves the gateway is a deliveries row; one worker claims them all.
  const delivery = new WorkLoop('deliver', () => deliverBatch(knex, log, outbox()), settings.pollMs, log);
  // Bodies are parsed, mapped and validated in worker threads; the event loop stays with the doors.
  const pool = new InterpretPool({
    ...(settings.interpret.workers ? { size: settings.interpret.workers } : {}),
    timeoutMs: settings.interpret.timeoutMs,
    memoryMb: settings.interpret.memoryMb,
    log,
  });
  pool.warm();
  // Other processes hear at once of stored messages, due deliveries and credential changes (LISTEN/NOTIFY).
  const signals = new SignalSender(knex, log);
  // Newly routed documents are due at once: a pass that handled messages wakes the delivery loop.
  const processor = new WorkLoop(
    'interpret',
    async () => {
      const handled = await processBatch(knex, () => config, log, INTERPRET_BATCH, pool, metrics);
      if (handled > 0) {
        delivery.nudge();
        signals.ring('deliveries');
      }
      return handled;
    },
    settings.pollMs,
    log,
  );
  // Outbound documents whose 997/999 is late get an ack.overdue event.
  const overdue = new WorkLoop(
    'ack-overdue',
    async () => {
      await flagOverdueAcks(knex);
      return 0;
    },
    settings.ackCheckMs,
    log,
  );
  // Closed hours of traffic are summed for the console's charts; one process at a time does it.
  const rollups = new WorkLoop('stats-rollup', () => rollUpHours(knex), settings.statsRollupMs, log);
  const receiver = new Receiver(knex, {
    maxBatch: 100,
    maxWaitMs: 2,
    log,
    metrics,
    onCommitted: () => {
      processor.nudge();
      signals.ring('messages');
    },
  });
  // Cached credential verifications are trusted only while this process hears every change.
  const listener = SignalListener.forKnex(
    knex,
    {
      on: {
        messages: () => processor.nudge(),
        deliveries: () => delivery.nudge(),
        credentials: () => store.verified.invalidate(),
        partners: () => void withStates(loaded).then((c) => (config = c)),
        subscriptions: () => subscriptionView.invalidate(),
      },
      onListening: (listening) => {
        store.verified.trust(listening);
        subscriptionView.trust(listening);
      },
    },
    log,
  );
  await listener.start();
  processor.start();
  overdue.start();
  rollups.start();

  // Mailbox documents of partners that take them by push, queued before the push was configured.
  const queuePushBacklog = async () => {
    const queued = await queueMailboxPushes(knex, config.partners.values()).catch((err: Error) => {
      log.warn({ err: err.message }, 'cannot queue the pushes of mailbox documents now; the next reload tries again');
      return 0;
    });
    if (queued) log.info({ queued }, 'queued pushes of mailbox documents to partners');
  };
  const warnCredentials = async () => {
    const expiring = await expiringCredentials(store, settings.as2.expiryWarnDays);
    for (const e of expiring)
      log.warn(
        { kind: e.credential.kind, ref: e.credential.ref, partner: e.credential.partnerId, expiresAt: e.credential.expiresAt, daysLeft: e.daysLeft },
        'credential expires soon',
      );
    await publishExpiringCredentials(knex, expiring);
  };
  // Subscribers hear of expiring credentials (once each) at start, on reload and every hour.
  const expiryEvents = new WorkLoop(
    'credential-expiry',
    async () => {
      await publishExpiringCredentials(knex, await expiringCredentials(store, settings.as2.expiryWarnDays));
      return 0;
    },
    EXPIRY_CHECK_MS,
    log,
  );
  expiryEvents.start();
  // A store that is down at start must not stop the doors from answering 503: the check waits for the next reload.
  await warnCredentials().catch((err: Error) => log.warn({ err: err.message }, 'cannot check credential expiry now'));

  // AS2: our key pairs are made on first use (a gateway without AS2 partners never needs them).
  const as2Keys = new As2KeyRing(settings.as2.keysDir, settings.as2.id, keys);
  const warnExpiry = async () => {
    if (!config.as2.size) return;
    await as2Keys.ready();
    for (const c of expiringCertificates(config, as2Keys, settings.as2.expiryWarnDays)) log.warn(c, 'as2: certificate expires soon');
  };
  await warnExpiry();
  // Partner AS2 certificates: the profile's and those rotated in with `gateway creds`, minus retired ones.
  const partnerCerts = new PartnerCertificates();
  const certsOf = async (a: As2Partner): Promise<Cert[]> => (await store.usable('as2-cert', a.partner.id)).map((c) => partnerCerts.of(String(c.public.pem)));
  let publicAs2Url = settings.as2.publicUrl ?? '';
  const as2Out = new As2Transports({
    certsOf,
    knex,
    log,
    config: () => config,
    keys: as2Keys,
    ourDefaultId: settings.as2.id,
    publicUrl: () => publicAs2Url,
    policy: (item) => policyOf(item),
    metrics,
  });
  // One connection per broker, opened at its first publish; passwords come from the gateway's environment.
  const brokers = new BrokerTransports((name) => env[name]);
  /** Where a subscription's URL must be: ERP_EVENT_URLS for the ERP's, the profile's `events.urls` for a partner's. */
  const eventUrlsOf = (s: Subscription): readonly AllowedUrl[] =>
    s.owner === 'erp' ? settings.events.erpUrls : (config.partners.get(s.partnerId ?? '')?.events?.urls ?? []);
  const transports = {
    ...erpTransports(documentDeliverySettled, signingSecrets),
    ...brokers.transports(documentDeliverySettled),
    as2: as2Out.as2,
    'as2-mdn': as2Out.mdn,
    sftp: sftpPushTransport(knex, () => config),
    event: eventWebhookTransport({ knex, keys, allowListOf: eventUrlsOf, timeoutMs: settings.events.timeoutMs, brokers }),
  };
  /** A delivery's policy: its route's settings for ERP targets; the partner's AS2 or SFTP push settings for pushes. */
  const policyOf = (item: OutboxItem): RetryPolicy => {
    const partner = config.partners.get(item.partnerId);
    if (item.target.kind === 'as2') return { ...retryDefaults, maxAttempts: partner?.as2?.send?.maxAttempts ?? 10 };
    if (item.target.kind === 'sftp') {
      const maxAttempts = partner?.sftp?.remote?.delivery?.maxAttempts;
      return maxAttempts ? { ...retryDefaults, maxAttempts } : retryDefaults;
    }
    if (item.target.kind === 'as2-mdn') return { ...retryDefaults, maxAttempts: OWED_MDN_ATTEMPTS };
    if (item.target.kind === 'event') return retryDefaults;
    return routePolicy(retryDefaults, partner?.routes, item.targetId, item.document?.type ?? '');
  };
  const outbox = () => ({
    workerId,
    batchSize: settings.deliveryBatch,
    targetConcurrency: settings.deliveryTargetConcurrency,
    leaseMs: settings.deliveryLeaseMs,
    policy: policyOf,
    transports,
    metrics,
  });
  await queuePushBacklog();
  delivery.start();
  const as2In = new As2Inbound({
    certsOf,
    knex,
    log,
    receiver,
    config: () => config,
    keys: as2Keys,
    ourDefaultId: settings.as2.id,
    maxBodyBytes: settings.maxBodyBytes,
    onMdn: (a, entity, original) => as2Out.receiveMdn(a, entity, original),
    noteSigner: (cert) => store.noteUse({ kind: 'as2-cert', ref: normalizeFingerprint(cert.fingerprint) }),
    wake: () => delivery.nudge(),
    metrics,
  });
  const tokens = new TokenService(store, () => config, {
    issuer: settings.oauth.issuer ?? '',
    audience: settings.oauth.audience,
    ttlSeconds: settings.oauth.tokenTtlSeconds,
    ...(settings.oauth.external ? { external: settings.oauth.external } : {}),
  });
  const endpointUrls: string[] = [];
  const portalNow = opts.now ?? (() => new Date());
  const portalAccess = new PortalAccess({ knex, config: () => config, settings: settings.portal, now: portalNow });
  const { oidc: oidcSettings } = settings.portal;
  const app = createHttpApp({
    knex,
    log,
    receiver,
    config: () => config,
    maxBodyBytes: settings.maxBodyBytes,
    partnersDir: settings.partnersDir,
    trustProxy: settings.trustProxy,
    erpApiKeys: settings.erpApiKeys,
    events: { keys, erpUrls: settings.events.erpUrls },
    as2: as2In,
    security: {
      store,
      tokens,
      tokenEndpoint: new TokenEndpoint({ knex, store, tokens, config: () => config }),
      limiter: new RateLimiter(knex, (err) => log.warn({ err: err.message }, 'could not forget idle rate-limit buckets; trying again in a minute')),
      tokenRatePerMinute: settings.oauth.tokenRatePerMinute,
      webhookToleranceSeconds: settings.webhookToleranceSeconds,
      adminApiKeys: settings.adminApiKeys,
      endpointUrls: () => endpointUrls,
    },
    portal: {
      access: portalAccess,
      cookieSecure: settings.portal.cookieSecure,
      oidc: oidcSettings && new PortalOidc({ knex, settings: oidcSettings, access: portalAccess, now: portalNow }),
    },
    // The portal's mapping workbench saves a profile file, then reloads as SIGHUP does.
    workbench: { mappingsDir: settings.mappingsDir, load: fromFiles, reload: () => reload() },
    // /metrics on this listener unless they have one of their own (METRICS_PORT); none without a token.
    ...(settings.metrics.token && settings.metrics.port === undefined ? { metrics: { metrics, token: settings.metrics.token } } : {}),
  });
  const listen = (s: Server, port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, settings.host, () => {
        s.off('error', reject);
        const a = s.address() as AddressInfo;
        resolve(`${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
      });
    });
  const server: Server = createHttpServer(app.callback());
  const url = `http://${await listen(server, settings.port)}`;
  log.info({ url }, 'HTTP listening');
  // HTTPS asks for a client certificate but lets the request through without one: pinning is per
  // partner (src/security/mtls.ts), and token requests or API keys need no certificate.
  let https: { server: Server; url: string; certFile: string } | undefined;
  if (settings.https.enabled) {
    const tls = await serverCredentials(settings.https);
    if (tls.generated)
      log.warn({ certFile: tls.certFile }, 'https: made a self-signed development certificate; set TLS_CERT_FILE and TLS_KEY_FILE in production');
    const s = createHttpsServer({ cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, app.callback());
    https = { server: s, url: `https://${await listen(s, settings.https.port)}`, certFile: tls.certFile };
    log.info({ url: https.url }, 'HTTPS listening (client certificates requested)');
  }
  let metricsServer: { server: Server; url: string } | undefined;
  if (settings.metrics.token && settings.metrics.port !== undefined) {
    const s = createHttpServer(createMetricsApp(log, { metrics, token: settings.metrics.token }).callback());
    metricsServer = { server: s, url: `http://${await listen(s, settings.metrics.port)}` };
    log.info({ url: metricsServer.url }, 'metrics listening');
  }
  tokens.settings.issuer = settings.oauth.issuer ?? url;
  endpointUrls.push(
    `${tokens.settings.issuer}/oauth/token`,
    tokens.settings.issuer,
    `${url}/oauth/token`,
    ...(https ? [`${https.url}/oauth/token`, `${https.url.replace('127.0.0.1', 'localhost')}/oauth/token`] : []),
  );
  publicAs2Url ||= `${url}/as2`;

  const sftp = settings.sftp.enabled
    ? await startSftpServer({
        knex,
        log,
        receiver,
        config: () => config,
        credentials: store,
        host: settings.host,
        port: settings.sftp.port,
        hostKeysDir: settings.sftp.hostKeysDir,
        maxBodyBytes: settings.maxBodyBytes,
        master: keys,
        lockout: {
          maxFailures: settings.sftp.lockoutFailures,
          windowMs: settings.sftp.lockoutMs,
          lockMs: settings.sftp.lockoutMs,
          baseDelayMs: settings.sftp.loginDelayMs,
        },
      })
    : undefined;
  // Uploads whose client vanished mid-file on a replica that stopped are swept after an hour.
  const sweep = new WorkLoop(
    'sftp-sweep',
    async () => {
      await PartnerFiles.sweep(knex, 3_600_000);
      return 0;
    },
    600_000,
    log,
  );
  if (sftp) {
    sweep.start();
    metrics.registerSftpSessions(() => sftp.connections());
  }
  // Credentials' last uses, noted in memory by the doors, written in one statement per flush.
  const usage = new WorkLoop('credential-usage', async () => (await store.flushUsage(), 0), settings.credentialUsageFlushMs, log);
  usage.start();
  // Partners' own SFTP servers: due pickups (pushes to them are deliveries).
  const remoteSftp = new RemoteSftpDoor(knex, log, receiver, () => config, settings.maxBodyBytes);
  const remote = new WorkLoop('sftp-remote', () => remoteSftp.run(), settings.remoteSftpCheckMs, log);
  remote.start();

  async function reload(): Promise<void> {
    try {
      const next = await load();
      const changed = [...next.mappings.values(), ...next.outbound.values()].filter((m) => {
        const before = config.mappings.get(m.id) ?? config.outbound.get(m.id);
        return !before || before.version !== m.version;
      });
      config = next;
      store.verified.invalidate();
      await queuePushBacklog();
      await warnExpiry().catch(() => undefined);
      await warnCredentials().catch(() => undefined);
      await audit(knex, {
        actor: 'gateway',
        action: 'config.reload',
        source: hostname(),
        outcome: 'ok',
        details: { partners: [...config.partners.keys()], profiles: changed.map((m) => `${m.id} v${m.version}`) },
      }).catch((err: Error) => log.error({ err: err.message }, 'audit: cannot record the reload'));
      log.info({ partners: [...config.partners.keys()], profiles: changed.map((m) => `${m.id} v${m.version}`) }, 'configuration reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'configuration reload refused; the running configuration stays');
      await audit(knex, { actor: 'gateway', action: 'config.reload', source: hostname(), outcome: 'failed', details: { error: (err as Error).message } }).catch(
        () => undefined,
      );
      throw err;
    }
  }

  // A new profile version is active without a restart: partner managers save, the gateway reloads.
  // A file that does not load (half-saved, or wrong) leaves the running configuration in place.
  const watcher = settings.configWatch
    ? new ConfigWatcher([settings.partnersDir, settings.mappingsDir], () => void reload().catch(() => undefined), log)
    : undefined;
  await watcher?.start();

  return {
    url,
    ...(https ? { https: { url: https.url, certFile: https.certFile } } : {}),
    ...(sftp ? { sftp } : {}),
    routes: routeTable(app),
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    metrics,
    security: { store, tokens, keys },
    config: () => config,
    reload,
    release: (lockedBefore?: Date) => releaseClaims(knex, workerId, lockedBefore),
    async stop() {
      watcher?.close();
      await Promise.all([
        ...[server, https?.server, metricsServer?.server]
          .filter((s): s is Server => Boolean(s))
          .map(
            (s) =>
              new Promise<void>((resolve) => {
                // A keep-alive connection busy now turns idle when its answer is written: close it then.
                const idle = setInterval(() => s.closeIdleConnections(), 100);
                s.close(() => {
                  clearInterval(idle);
                  resolve();
                });
                s.closeIdleConnections();
              }),
          ),
        sftp?.close(),
        sweep.stop(),
        remote.stop(),
      ]);
      await receiver.drain();
      await usage.stop();
      await store.flushUsage().catch((err: Error) => log.warn({ err: err.message }, 'credentials: last uses not written at stop'));
      await processor.stop();
      await pool.close();
      await delivery.stop();
      await brokers.close();
      await overdue.stop();
      await expiryEvents.stop();
      await rollups.stop();
      await listener.stop();
    },
  };
}
