import Router from '@koa/router';
import type { Knex } from 'knex';
import { pingDatabase } from '../../../store/db.js';

export interface HealthDeps {
  knex: Knex;
}

/**
 * What an orchestrator asks: liveness and readiness, open to any prober. Prometheus metrics have
 * their own route behind the operator's token (metrics.ts).
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

  return router;
}
