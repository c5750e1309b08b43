import Koa from 'koa';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/load.js';
import type { Receiver } from '../../pipeline/receive.js';
import type { CredentialStore } from '../../security/credentials.js';
import type { TokenEndpoint } from '../../security/oauth.js';
import type { RateLimiter } from '../../security/rate-limit.js';
import type { MasterKeys } from '../../security/secrets.js';
import type { TokenService } from '../../security/tokens.js';
import type { As2Inbound } from '../as2/inbound.js';
import type { ServiceKeys } from './auth.js';
import { answerErrors, noRoute } from './error-answers.js';
import { adminRoutes } from './routes/admin.js';
import { apiReferenceRoutes } from './routes/api-reference.js';
import { as2Routes } from './routes/as2.js';
import { erpRoutes } from './routes/erp.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes, type MetricsDeps } from './routes/metrics.js';
import { oauthRoutes } from './routes/oauth.js';
import { opsRoutes } from './routes/ops.js';
import { partnerLifecycleRoutes } from './routes/partner-lifecycle.js';
import { partnerRoutes } from './routes/partner.js';
import { portalRoutes, type PortalDeps } from './routes/portal.js';
import { consoleOpsRoutes } from './routes/portal-console-ops.js';
import { consoleRoutes } from './routes/portal-console.js';
import { partnerPageRoutes } from './routes/portal-partners.js';
import { securityRoutes } from './routes/portal-security.js';
import { erpSubscriptionRoutes, partnerSubscriptionRoutes } from './routes/subscriptions.js';
import { webhookRoutes } from './routes/webhooks.js';
import { type WorkbenchDeps, workbenchRoutes } from './routes/portal-workbench.js';
import type { AllowedUrl } from '../../types.js';

export interface HttpDeps {
  knex: Knex;
  log: Logger;
  receiver: Receiver;
  /** Read on every request, so a configuration reload takes effect at once. */
  config: () => GatewayConfig;
  /** Hard cap on any body, whatever a partner profile allows. */
  maxBodyBytes: number;
  /** API keys of the ERP (`/v1/erp/…`). */
  erpApiKeys: ServiceKeys;
  /** Event subscriptions (decision 0037): the key sealing their secrets, and where the ERP may subscribe. */
  events: { keys: MasterKeys; erpUrls: readonly AllowedUrl[] };
  /** The AS2 door (POST /as2). */
  as2?: As2Inbound;
  security: SecurityDeps;
  /** The portal's sign-in and sessions (people, in a browser). */
  portal: PortalDeps;
  /** Where partner profiles are read from (the partner pages show a profile's file). */
  partnersDir: string;
  /** Behind a load balancer that appends the client's address to X-Forwarded-For (TRUST_PROXY). */
  trustProxy?: boolean;
  /** Prometheus metrics on this app's /metrics; absent when they have a listener of their own, or no token. */
  metrics?: MetricsDeps;
  /** The mapping workbench's files, loader and reload (decision 0035); without them the portal has no workbench. */
  workbench?: Pick<WorkbenchDeps, 'mappingsDir' | 'load' | 'reload'>;
}

export interface SecurityDeps {
  store: CredentialStore;
  tokens: TokenService;
  tokenEndpoint: TokenEndpoint;
  limiter: RateLimiter;
  /** Token requests per minute from one address. */
  tokenRatePerMinute: number;
  /** How far a webhook timestamp may be from now. */
  webhookToleranceSeconds: number;
  /** Keys of security administrators (`/admin/v1/…`). */
  adminApiKeys: ServiceKeys;
  /** The URLs the token endpoint answers at (HTTP and HTTPS): a client assertion's aud. */
  endpointUrls: () => string[];
}

/**
 * The HTTP doors, one router per audience, each behind its own authentication (see auth.ts): no two
 * routers share a path, so a request reaches one audience's checks only. Every error, from any of
 * them, is answered in error-answers.ts. The routers read bytes and call the pipeline; none parses.
 */
export function createHttpApp(deps: HttpDeps): Koa {
  const { knex, config, receiver, maxBodyBytes, security: sec } = deps;
  const app = new Koa();
  // Only the load balancer's own entry (the last) is believed: a client can write the others.
  app.proxy = deps.trustProxy ?? false;
  app.maxIpsCount = 1;
  app.use(answerErrors(deps.log));
  const routers = [
    healthRoutes({ knex }),
    ...(deps.metrics ? [metricsRoutes(deps.metrics)] : []),
    partnerRoutes({ knex, config, receiver, maxBodyBytes, store: sec.store, tokens: sec.tokens, limiter: sec.limiter }),
    webhookRoutes({ knex, config, receiver, maxBodyBytes, store: sec.store, limiter: sec.limiter, toleranceSeconds: sec.webhookToleranceSeconds }),
    oauthRoutes({ ...sec, config }),
    as2Routes({ as2: deps.as2 }),
    erpRoutes({ knex, config, maxBodyBytes, erpApiKeys: deps.erpApiKeys }),
    erpSubscriptionRoutes({ knex, config, ...deps.events, erpApiKeys: deps.erpApiKeys }),
    partnerSubscriptionRoutes({ knex, config, ...deps.events, store: sec.store, tokens: sec.tokens, limiter: sec.limiter }),
    adminRoutes({ knex, store: sec.store, adminApiKeys: sec.adminApiKeys }),
    portalRoutes({ ...deps.portal, supplier: { knex, config, receiver, maxBodyBytes } }),
    opsRoutes({ knex, config, adminApiKeys: sec.adminApiKeys, access: deps.portal.access }),
    partnerLifecycleRoutes({
      knex,
      config,
      adminApiKeys: sec.adminApiKeys,
      access: deps.portal.access,
      credentials: (partnerId) => sec.store.list({ partnerId }),
    }),
    consoleOpsRoutes(knex, deps.portal.access),
    consoleRoutes({ knex, config, access: deps.portal.access }),
    securityRoutes({ knex, config, store: sec.store, access: deps.portal.access }),
    partnerPageRoutes(
      {
        knex,
        config,
        credentials: (partnerId) => sec.store.list({ partnerId }),
        partnersDir: deps.partnersDir,
        ...(deps.workbench ? { create: { mappingsDir: deps.workbench.mappingsDir, reload: deps.workbench.reload, store: sec.store } } : {}),
      },
      deps.portal.access,
    ),
    ...(deps.workbench ? [workbenchRoutes({ knex, config, access: deps.portal.access, ...deps.workbench })] : []),
    apiReferenceRoutes(),
  ];
  for (const router of routers) app.use(router.routes());
  app.use(noRoute);
  return app;
}

/** The METRICS_PORT listener's app: /metrics behind the operator's token, and nothing else. */
export function createMetricsApp(log: Logger, deps: MetricsDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(answerErrors(log));
  app.use(metricsRoutes(deps).routes());
  app.use(noRoute);
  return app;
}
