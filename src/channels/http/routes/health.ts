import Router from '@koa/router';
import type { Knex } from 'knex';
import type { CredentialStore } from '../../../security/credentials.js';
import { pingDatabase } from '../../../store/db.js';
import { adminServiceKey, type ServiceKeys } from '../auth.js';

export interface HealthDeps {
  knex: Knex;
  store: CredentialStore;
  /** Keys of security administrators: the metrics name credentials, so they need one. */
  adminApiKeys: ServiceKeys;
}

/**
 * What an orchestrator and a monitoring system ask: liveness and readiness, open to any prober, and
 * Prometheus metrics behind an admin key.
 */
export function healthRoutes(d: HealthDeps): Router {
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    try {
      await pingDatabase(d.knex);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'GW_STORE_UNAVAILABLE', message: 'The database is not reachable.' } };
    }
  });

  // Prometheus text: seconds until each credential expires (alert on a low value).
  router.get('/metrics', adminServiceKey(d.adminApiKeys), async (ctx) => {
    const now = Date.now();
    const lines = [
      '# HELP gateway_credential_expiry_seconds Seconds until the credential expires (negative: expired).',
      '# TYPE gateway_credential_expiry_seconds gauge',
    ];
    for (const c of await d.store.list()) {
      if (!c.expiresAt || c.revokedAt) continue;
      const labels = `kind="${c.kind}",ref="${c.ref.replace(/["\\]/g, '')}",partner="${c.partnerId ?? ''}",source="${c.source}"`;
      lines.push(`gateway_credential_expiry_seconds{${labels}} ${Math.round((c.expiresAt.getTime() - now) / 1000)}`);
    }
    ctx.set('content-type', 'text/plain; version=0.0.4');
    ctx.body = `${lines.join('\n')}\n`;
  });

  return router;
}
