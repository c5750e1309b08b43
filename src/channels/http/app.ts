import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Receiver } from '../../pipeline/receive.js';
import { messageStatus } from '../../pipeline/status.js';
import { collectMailboxItem, listMailbox, readMailboxItem } from '../../pipeline/outbound.js';
import { sendPurchaseOrder } from '../../pipeline/purchase-orders.js';
import { authenticateApiKey, authenticateErpKey, type Principal } from '../../security/api-keys.js';
import type { As2Inbound } from '../as2/inbound.js';

export interface HttpDeps {
  knex: Knex;
  log: Logger;
  receiver: Receiver;
  /** Read on every request, so a configuration reload takes effect at once. */
  config: () => GatewayConfig;
  /** Hard cap on any body, whatever a partner profile allows. */
  maxBodyBytes: number;
  /** API keys of the ERP (`/v1/erp/…`). */
  erpApiKeys: readonly { id: string; sha256: string }[];
  /** The AS2 door (POST /as2). */
  as2?: As2Inbound;
}

/** Turns a request's credentials into a Principal, or returns undefined when it carries none of its kind. */
export type Authenticator = (ctx: Context, config: GatewayConfig) => Principal | undefined;

/** The bearer token of a request; undefined without an Authorization header. */
function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new GatewayError('GW_AUTH_INVALID', 'The Authorization header must be "Bearer <api key>".');
  return m[1] as string;
}

const bearerApiKey: Authenticator = (ctx, config) => {
  const token = bearerToken(ctx);
  return token === undefined ? undefined : authenticateApiKey(config, token);
};

/** The request body, at most `limit` bytes (413 beyond). */
async function readBody(ctx: Context, limit: number, whose: string): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new GatewayError('GW_REQUEST_TOO_LARGE', `The body exceeds the limit of ${limit} bytes${whose}.`);
    throw new GatewayError('GW_REQUEST_INVALID', `The body could not be read: ${(err as Error).message}.`);
  }
}

/** An Idempotency-Key header, checked; undefined when absent. */
function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key') || undefined;
  if (key && !/^[\x21-\x7e]{1,255}$/.test(key)) throw new GatewayError('GW_REQUEST_INVALID', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  return key;
}

/** Authenticators tried in order; OAuth2 and mTLS slot in here. */
const AUTHENTICATORS: Authenticator[] = [bearerApiKey];

function requestId(ctx: Context): string {
  const given = ctx.get('x-correlation-id');
  return /^[\w.:-]{1,128}$/.test(given) ? given : '';
}

/** The REST door: authenticates, reads bytes, calls receive, answers. No parsing happens here. */
export function createHttpApp(deps: HttpDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();

  // One error handler: stable codes out, 5xx details never.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const ge = isGatewayError(err) ? err : undefined;
      const status = ge?.status ?? 500;
      if (status >= 500) deps.log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = status;
      if (ge?.retryable && status === 503) ctx.set('retry-after', '5');
      if (status === 401) ctx.set('www-authenticate', 'Bearer realm="partner-gateway"');
      ctx.body = {
        error: ge && status < 500 ? { code: ge.code, message: ge.message, ...(ge.location ? { location: ge.location } : {}) } : ge ? { code: ge.code, message: ge.message } : { code: 'GW_INTERNAL', message: 'An unexpected error occurred.' },
      };
    }
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    try {
      await deps.knex.raw('select 1');
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'GW_STORE_UNAVAILABLE', message: 'The database is not reachable.' } };
    }
  });

  const authenticate = async (ctx: Context, next: Koa.Next) => {
    const config = deps.config();
    let principal: Principal | undefined;
    for (const a of AUTHENTICATORS) if ((principal = a(ctx, config))) break;
    if (!principal) throw new GatewayError('GW_AUTH_MISSING', 'Present an API key as "Authorization: Bearer <key>".');
    if (principal.partner.state === 'suspended') throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${principal.partner.id} is suspended.`);
    ctx.state.principal = principal;
    await next();
  };

  router.post('/v1/messages', authenticate, async (ctx) => {
    const { partner } = ctx.state.principal as Principal;
    if (!partner.channels.includes('rest')) throw new GatewayError('GW_AUTH_FORBIDDEN', `Partner ${partner.id} may not send over REST.`);
    const mediaType = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
    const format = MEDIA_TYPES[mediaType];
    if (!format) throw new GatewayError('GW_REQUEST_MEDIA_TYPE', `Content-Type "${mediaType || '(none)'}" is not accepted; send one of ${Object.keys(MEDIA_TYPES).join(', ')}.`);
    const limit = Math.min(partner.limits.maxBytes, deps.maxBodyBytes);
    const bytes = await readBody(ctx, limit, ` for partner ${partner.id}`);
    if (bytes.length === 0) throw new GatewayError('GW_REQUEST_INVALID', 'The body is empty.');
    const correlationId = requestId(ctx);
    const idempotencyKey = idempotencyKeyOf(ctx);
    const receipt = await deps.receiver.receive({
      partnerId: partner.id,
      channel: 'rest',
      contentType: mediaType,
      format,
      bytes,
      ...(correlationId ? { correlationId } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const statusUrl = `/v1/messages/${receipt.messageId}`;
    ctx.status = 202;
    ctx.set('location', statusUrl);
    if (receipt.duplicate) ctx.set('idempotent-replayed', 'true');
    ctx.body = { messageId: receipt.messageId, correlationId: receipt.correlationId, statusUrl, duplicate: receipt.duplicate };
  });

  // AS2 (RFC 4130): the agreement and the message's own signature identify the partner, not an API key.
  router.post('/as2', async (ctx) => {
    if (!deps.as2) throw new GatewayError('GW_NOT_FOUND', 'The AS2 door is off.');
    const res = await deps.as2.handle({ headers: ctx.req.headers, readBody: (limit) => readBody(ctx, limit, ''), remote: ctx.ip });
    ctx.status = res.status;
    for (const [k, v] of res.headers) ctx.set(k, v);
    ctx.body = res.body;
  });

  // The partner's mailbox: acknowledgments and documents the gateway has for it (SFTP's /outbound reads the same).
  router.get('/v1/outbound', authenticate, async (ctx) => {
    const { partner } = ctx.state.principal as Principal;
    ctx.body = { items: await listMailbox(deps.knex, partner.id) };
  });

  router.get('/v1/outbound/:id', authenticate, async (ctx) => {
    const { partner } = ctx.state.principal as Principal;
    const item = await readMailboxItem(deps.knex, partner.id, ctx.params.id as string);
    if (!item) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${ctx.params.id} for partner ${partner.id}.`);
    ctx.set('content-type', item.contentType);
    ctx.set('content-disposition', `attachment; filename="${item.fileName}"`);
    ctx.set('x-gateway-document-type', item.type);
    ctx.body = item.raw;
  });

  router.delete('/v1/outbound/:id', authenticate, async (ctx) => {
    const { partner } = ctx.state.principal as Principal;
    if (!(await collectMailboxItem(deps.knex, partner.id, ctx.params.id as string, 'rest'))) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${ctx.params.id} for partner ${partner.id}.`);
    ctx.status = 204;
  });

  const authenticateErp = async (ctx: Context, next: Koa.Next) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present the ERP API key as "Authorization: Bearer <key>".');
    ctx.state.erp = authenticateErpKey(deps.erpApiKeys, token);
    await next();
  };

  router.post('/v1/erp/partners/:partner/purchase-orders', authenticateErp, async (ctx) => {
    const config = deps.config();
    const partner = config.partners.get(ctx.params.partner as string);
    if (!partner) throw new GatewayError('GW_NOT_FOUND', `No partner ${ctx.params.partner}.`);
    if ((ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase() !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the canonical purchase order as application/json.');
    const text = (await readBody(ctx, deps.maxBodyBytes, '')).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`);
    }
    const sent = await sendPurchaseOrder(deps.knex, config, partner, body, idempotencyKeyOf(ctx), requestId(ctx) || undefined);
    ctx.status = sent.duplicate ? 200 : 201;
    ctx.set('location', `/v1/erp/messages/${sent.messageId}`);
    ctx.body = { ...sent, statusUrl: `/v1/erp/messages/${sent.messageId}` };
  });

  router.get('/v1/erp/messages/:id', authenticateErp, async (ctx) => {
    const status = await messageStatus(deps.knex, undefined, ctx.params.id as string);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${ctx.params.id}.`);
    ctx.body = status;
  });

  router.get('/v1/messages/:id', authenticate, async (ctx) => {
    const { partner } = ctx.state.principal as Principal;
    const status = await messageStatus(deps.knex, partner.id, ctx.params.id as string);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${ctx.params.id} for partner ${partner.id}.`);
    ctx.body = status;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new GatewayError('GW_NOT_FOUND', `No route ${ctx.method} ${ctx.path}.`);
  });
  return app;
}
