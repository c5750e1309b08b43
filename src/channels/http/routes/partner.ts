import Router from '@koa/router';
import type { Knex } from 'knex';
import { GatewayError } from '../../../errors.js';
import { collectMailboxItem, listMailbox, readMailboxItem } from '../../../pipeline/outbound.js';
import { listPurchaseOrders, purchaseOrderView } from '../../../pipeline/purchase-order-views.js';
import { messageStatus } from '../../../pipeline/status.js';
import { mailboxScope, READ_SCOPES, requireScope } from '../../../security/scopes.js';
import { acceptMessage, type MessageIntakeDeps } from '../accept-message.js';
import { partnerPrincipal, principalOf, type PartnerAuthDeps } from '../auth.js';
import { integerParam, textParam, uuidParam } from '../request.js';

export interface PartnerRouteDeps extends MessageIntakeDeps, PartnerAuthDeps {
  knex: Knex;
}

/**
 * The partner API, behind a partner's own credentials: sending messages and reading their status,
 * and the partner's mailbox of acknowledgments and documents the gateway has for it (SFTP's
 * /outbound reads the same). A partner sees its own messages and documents only.
 */
export function partnerRoutes(d: PartnerRouteDeps): Router {
  const router = new Router();
  router.use(partnerPrincipal(d));

  router.post('/v1/messages', async (ctx) => {
    const principal = principalOf(ctx);
    if (!principal.partner.channels.includes('rest')) throw new GatewayError('GW_AUTH_FORBIDDEN', `Partner ${principal.partner.id} may not send over REST.`);
    await acceptMessage(ctx, d, principal, { channel: 'rest' });
  });

  router.get('/v1/messages/:id', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    requireScope(scopes, READ_SCOPES.status, 'Reading message status');
    const id = uuidParam(ctx.params.id, 'message');
    const status = await messageStatus(d.knex, partner.id, id);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${id} for partner ${partner.id}.`);
    ctx.body = status;
  });

  // The partner's own purchase orders and where each stands (decision 0036).
  router.get('/v1/purchase-orders', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    requireScope(scopes, READ_SCOPES.po, 'Reading purchase orders');
    const limit = integerParam(ctx.query.limit, 'limit', { min: 1, max: 500, fallback: 50, text: true });
    ctx.body = { items: await listPurchaseOrders(d.knex, partner.id, limit) };
  });

  router.get('/v1/purchase-orders/:po', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    requireScope(scopes, READ_SCOPES.po, 'Reading purchase orders');
    const po = textParam(ctx.params.po, 'purchase order number', 100) as string;
    const view = await purchaseOrderView(d.knex, po, partner.id);
    if (!view) throw new GatewayError('GW_NOT_FOUND', `No purchase order ${po} for partner ${partner.id}.`);
    // The partner sees its PO, its documents and whether one is held; the exceptions (rules, facts, who works on them) stay internal.
    const { exceptions: _internal, ...own } = view;
    ctx.body = own;
  });

  router.get('/v1/outbound', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    if (!scopes.has(READ_SCOPES.po) && !scopes.has(READ_SCOPES.ack)) requireScope(scopes, READ_SCOPES.po, 'Reading the mailbox');
    ctx.body = { items: (await listMailbox(d.knex, partner.id)).filter((i) => scopes.has(mailboxScope(i.type))) };
  });

  router.get('/v1/outbound/:id', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    const id = uuidParam(ctx.params.id, 'outbound document');
    const item = await readMailboxItem(d.knex, partner.id, id);
    if (!item) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${id} for partner ${partner.id}.`);
    requireScope(scopes, mailboxScope(item.type), `Reading a ${item.type}`);
    ctx.set('content-type', item.contentType);
    ctx.set('content-disposition', `attachment; filename="${item.fileName}"`);
    ctx.set('x-gateway-document-type', item.type);
    ctx.body = item.raw;
  });

  router.delete('/v1/outbound/:id', async (ctx) => {
    const { partner, scopes } = principalOf(ctx);
    const id = uuidParam(ctx.params.id, 'outbound document');
    const item = await readMailboxItem(d.knex, partner.id, id);
    if (item) requireScope(scopes, mailboxScope(item.type), `Collecting a ${item.type}`);
    if (!item || !(await collectMailboxItem(d.knex, partner.id, id, 'rest')))
      throw new GatewayError('GW_NOT_FOUND', `No outbound document ${id} for partner ${partner.id}.`);
    ctx.status = 204;
  });

  return router;
}
