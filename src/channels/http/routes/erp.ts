import Router from '@koa/router';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { sendPurchaseOrder } from '../../../pipeline/purchase-orders.js';
import { registerPurchaseOrder } from '../../../pipeline/purchase-order-ledger.js';
import { purchaseOrderView } from '../../../pipeline/purchase-order-views.js';
import { messageStatus } from '../../../pipeline/status.js';
import { erpServiceKey, type ServiceKeys } from '../auth.js';
import { idempotencyKeyOf, mediaTypeOf, pathOfUnstorable, readBody, requestId, textParam, uuidParam } from '../request.js';

export interface ErpDeps {
  knex: Knex;
  config: () => GatewayConfig;
  /** Hard cap on any body. */
  maxBodyBytes: number;
  /** API keys of the ERP (ERP_API_KEYS). */
  erpApiKeys: ServiceKeys;
}

/**
 * The ERP API, behind the ERP's service key: purchase orders to send to a partner, and the status
 * of any message, whichever partner it belongs to.
 */
export function erpRoutes(d: ErpDeps): Router {
  const router = new Router();
  router.use(erpServiceKey(d.erpApiKeys));

  router.post('/v1/erp/partners/:partner/purchase-orders', async (ctx) => {
    const config = d.config();
    const partner = config.partners.get(ctx.params.partner as string);
    if (!partner) throw new GatewayError('GW_NOT_FOUND', `No partner ${ctx.params.partner}.`);
    if (mediaTypeOf(ctx) !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the canonical purchase order as application/json.');
    const body = parseStorableJson((await readBody(ctx, d.maxBodyBytes, '')).toString('utf8'));
    const sent = await sendPurchaseOrder(d.knex, config, partner, body, idempotencyKeyOf(ctx), requestId(ctx) || undefined);
    ctx.status = sent.duplicate ? 200 : 201;
    ctx.set('location', `/v1/erp/messages/${sent.messageId}`);
    ctx.body = { ...sent, statusUrl: `/v1/erp/messages/${sent.messageId}` };
  });

  // A PO the ERP sent the partner another way: linked to its po-acks, ship notices and invoices all the same.
  router.post('/v1/erp/partners/:partner/purchase-orders/registered', async (ctx) => {
    const partner = d.config().partners.get(ctx.params.partner as string);
    if (!partner) throw new GatewayError('GW_NOT_FOUND', `No partner ${ctx.params.partner}.`);
    if (mediaTypeOf(ctx) !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the canonical purchase order as application/json.');
    const body = parseStorableJson((await readBody(ctx, d.maxBodyBytes, '')).toString('utf8'));
    await registerPurchaseOrder(d.knex, partner.id, body);
    const number = (body as { purchaseOrderNumber: string }).purchaseOrderNumber;
    const url = `/v1/erp/purchase-orders/${encodeURIComponent(number)}?partner=${encodeURIComponent(partner.id)}`;
    ctx.status = 201;
    ctx.set('location', url);
    ctx.body = await purchaseOrderView(d.knex, number, partner.id);
  });

  router.get('/v1/erp/purchase-orders/:po', async (ctx) => {
    const po = textParam(ctx.params.po, 'purchase order number', 100) as string;
    const view = await purchaseOrderView(d.knex, po, textParam(ctx.query.partner, 'partner'));
    if (!view) throw new GatewayError('GW_NOT_FOUND', `No purchase order ${po}.`);
    ctx.body = view;
  });

  router.get('/v1/erp/messages/:id', async (ctx) => {
    const id = uuidParam(ctx.params.id, 'message');
    const status = await messageStatus(d.knex, undefined, id);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${id}.`);
    ctx.body = status;
  });

  return router;
}

/** A JSON body the store can hold: GW_JSON_SYNTAX when it does not parse, GW_REQUEST_INVALID at the first unstorable text. */
function parseStorableJson(text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`);
  }
  const badAt = pathOfUnstorable(body);
  if (badAt)
    throw new GatewayError(
      'GW_REQUEST_INVALID',
      `The purchase order holds a NUL character (\\u0000) or a lone UTF-16 surrogate at ${badAt}; send text without them.`,
      { location: { jsonPath: badAt } },
    );
  return body;
}
