import Router from '@koa/router';
import { GatewayError } from '../../../errors.js';
import type { As2Inbound } from '../../as2/inbound.js';
import { readBody } from '../request.js';

/**
 * AS2 (RFC 4130) from trading partners: no authentication middleware, for the agreement and the
 * message's own signature identify the partner, not an API key; the AS2 door checks both.
 */
export function as2Routes(d: { as2?: As2Inbound | undefined }): Router {
  const router = new Router();
  router.post('/as2', async (ctx) => {
    if (!d.as2) throw new GatewayError('GW_NOT_FOUND', 'The AS2 door is off.');
    const res = await d.as2.handle({ headers: ctx.req.headers, readBody: (limit) => readBody(ctx, limit, ''), remote: ctx.ip });
    ctx.status = res.status;
    for (const [k, v] of res.headers) ctx.set(k, v);
    ctx.body = res.body;
  });
  return router;
}
