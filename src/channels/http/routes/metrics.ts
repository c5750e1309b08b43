import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { GatewayError } from '../../../errors.js';
import type { GatewayMetrics } from '../../../observability/metrics.js';
import { bearerToken } from '../request.js';

export interface MetricsDeps {
  metrics: GatewayMetrics;
  /** The operator's METRICS_TOKEN: a scraper presents it as a bearer token. */
  token: string;
}

/**
 * Prometheus exposition (docs/metrics.md) for a scraper that presents the operator's token. Served
 * on the HTTP listener, or alone on the METRICS_PORT listener; no other credential opens it, and it
 * opens nothing else.
 */
export function metricsRoutes(d: MetricsDeps): Router {
  const router = new Router();
  const expected = digest(d.token);
  router.get('/metrics', async (ctx) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present the metrics token as "Authorization: Bearer <METRICS_TOKEN>".');
    // Compared as digests: equal lengths, and no timing that tells how much of the token was right.
    if (!timingSafeEqual(digest(token), expected)) throw new GatewayError('GW_AUTH_INVALID', 'The metrics token is not the one configured.');
    const { contentType, text } = await d.metrics.render();
    ctx.set('content-type', contentType);
    ctx.set('cache-control', 'no-store');
    ctx.body = text;
  });
  return router;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
