import Router from '@koa/router';
import type { Knex } from 'knex';
import { GatewayError } from '../../../errors.js';
import { collectMailboxItem, listMailbox, readMailboxItem } from '../../../pipeline/outbound.js';
import { messageStatus } from '../../../pipeline/status.js';
import { mailboxScope, READ_SCOPES, requireScope } from '../../../security/scopes.js';
import { acceptMessage, type MessageIntakeDeps } from '../accept-message.js';
import { partnerPrincipal, principalOf, type PartnerAuthDeps } from '../auth.js';
import { uuidParam } from '../request.js';

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
