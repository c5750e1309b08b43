import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { deadLetters, stuckWork } from '../../../pipeline/dead-letters.js';
import { opsStats, statsWindow } from '../../../pipeline/ops-stats.js';
import { SEARCH_LIMIT_MAX, searchMessages, type MessageFilter } from '../../../pipeline/message-search.js';
import { readRawSlice } from '../../../pipeline/raw-store.js';
import { auditedAction, BULK_ACTION_MAX, bulkAction, OPS_ACTIONS, type OpsAction } from '../../../pipeline/ops-actions.js';
import { messageStatus } from '../../../pipeline/status.js';
import { authenticateServiceKey } from '../../../security/api-keys.js';
import type { Actor } from '../../../security/credentials.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { Role } from '../../../security/users.js';
import { actorOf, type Middleware, type ServiceKeys } from '../auth.js';
import { requireFormToken, SESSION_COOKIE } from '../portal-auth.js';
import { addBusinessRoutes } from './ops-business.js';
import { bearerToken, dateParam, integerParam, readJson, textParam, uuidParam } from '../request.js';

export interface OpsDeps {
  knex: Knex;
  /** The loaded configuration (a released document is routed by its partner's routes). */
  config: () => GatewayConfig;
  /** Keys of administrators (ADMIN_API_KEYS), for scripts and the command line. */
  adminApiKeys: ServiceKeys;
  /** The portal's sessions: people of the operations and admin roles, from the console. */
  access: PortalAccess;
}

/** Portal roles that may use the operations API. */
export const OPS_ROLES: readonly Role[] = ['operations', 'admin'];
/** Raw bytes are read and sent this much at a time, whatever the message's size. */
const RAW_SLICE_BYTES = 1 << 20;

/** Query and filter names an operator may use; anything else is refused, since a mistyped filter would widen the selection. */
export const FILTER_NAMES = [
  'partner',
  'channel',
  'type',
  'state',
  'direction',
  'receivedFrom',
  'receivedTo',
  'poNumber',
  'documentNumber',
  'interchangeControl',
  'as2MessageId',
  'fileName',
  'correlationId',
  'idempotencyKey',
] as const;

/**
 * The operations API (`/ops/v1/…`, decision 0024): search messages by business keys, read one with
 * its raw bytes, replay or redeliver one or many, and list dead letters and late work. Every console action
 * has its endpoint here, with the same roles and audit.
 */
export function opsRoutes(d: OpsDeps): Router {
  const router = new Router({ prefix: '/ops/v1' });
  router.use(staffCaller(d, OPS_ROLES, 'operations API'));

  router.get('/whoami', (ctx) => {
    const s = ctx.state.opsSession as { csrfToken: string } | undefined;
    ctx.set('cache-control', 'no-store');
    ctx.body = { actor: actorOf(ctx).actor, ...(s ? { csrfToken: s.csrfToken } : {}) };
  });
  router.get('/messages', async (ctx) => {
    const { cursor, limit, ...rest } = ctx.query;
    const filter = filterOf(rest);
    const pageSize = integerParam(limit, 'limit', { min: 1, max: SEARCH_LIMIT_MAX, fallback: 50, text: true });
    ctx.body = await searchMessages(d.knex, filter, pageSize, textParam(cursor, 'cursor', 100));
  });
  router.get('/messages/:id', async (ctx) => {
    const id = uuidParam(ctx.params.id, 'message');
    const status = await messageStatus(d.knex, undefined, id);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${id}.`);
    ctx.body = status;
  });
  router.get('/messages/:id/raw', async (ctx) => rawDownload(ctx, d.knex, uuidParam(ctx.params.id, 'message')));
  for (const action of OPS_ACTIONS) {
    router.post(`/messages/${action}`, async (ctx) => {
      ctx.body = await bulkFromBody(d.knex, action, await readJson(ctx), actorOf(ctx));
    });
    router.post(`/messages/:id/${action}`, async (ctx) => {
      ctx.body = await auditedAction(d.knex, action, uuidParam(ctx.params.id, 'message'), actorOf(ctx));
    });
  }
  router.get('/dead-letters', async (ctx) => {
    const q = ctx.query;
    const limit = integerParam(q.limit, 'limit', { min: 1, max: SEARCH_LIMIT_MAX, fallback: 50, text: true });
    const partner = textParam(q.partner, 'partner');
    const target = textParam(q.target, 'target');
    ctx.body = await deadLetters(d.knex, { ...(partner ? { partner } : {}), ...(target ? { target } : {}) }, limit, textParam(q.cursor, 'cursor', 100));
  });
  router.get('/stats', async (ctx) => {
    const partner = textParam(ctx.query.partner, 'partner');
    ctx.body = await opsStats(d.knex, statsWindow(textParam(ctx.query.window, 'window', 10)), partner || undefined);
  });
  addBusinessRoutes(router, d);
  router.get('/stuck', async (ctx) => {
    const minutes = integerParam(ctx.query.olderThanMinutes, 'olderThanMinutes', { min: 0, max: 525_600, fallback: 15, text: true });
    const limit = integerParam(ctx.query.limit, 'limit', { min: 1, max: SEARCH_LIMIT_MAX, fallback: 50, text: true });
    ctx.body = await stuckWork(d.knex, minutes, limit);
  });
  return router;
}

/**
 * Who calls: an administrator's key (`Authorization: Bearer`), or a portal session of one of
 * `roles` (the operations API: operations or admin). A session's POST carries the session's form token in `X-CSRF-Token`
 * (a browser attaches the cookie to a forged request; only our page knows the token).
 */
export function staffCaller(d: Omit<OpsDeps, 'knex' | 'config'>, roles: readonly Role[], api: string): Middleware {
  return async (ctx, next) => {
    const token = bearerToken(ctx);
    if (token !== undefined) {
      const { credentialId } = authenticateServiceKey(d.adminApiKeys, token, 'admin');
      ctx.state.actor = { actor: `admin:${credentialId}`, source: ctx.ip } satisfies Actor;
      return next();
    }
    const value = ctx.cookies.get(SESSION_COOKIE);
    const principal = value ? await d.access.resume(value) : undefined;
    if (!principal)
      throw new GatewayError(
        'GW_AUTH_MISSING',
        `Present an admin API key as "Authorization: Bearer <key>", or sign in at /portal/sign-in as ${roles.join(' or ')}.`,
      );
    if (!roles.includes(principal.role))
      throw new GatewayError('GW_PORTAL_ROLE', `The ${api} is for ${roles.join(', ')}; ${principal.username} is ${principal.role}.`);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') requireFormToken(principal.session.csrfToken, ctx.get('x-csrf-token') || null);
    ctx.state.actor = { actor: `portal:${principal.username}`, source: ctx.ip } satisfies Actor;
    ctx.state.opsSession = { csrfToken: principal.session.csrfToken };
    return next();
  };
}

/** A search filter from a query string or a JSON body; an unknown name is refused. */
export function filterOf(input: Record<string, unknown>): MessageFilter {
  const unknown = Object.keys(input).filter((k) => !(FILTER_NAMES as readonly string[]).includes(k));
  if (unknown.length) throw new GatewayError('GW_REQUEST_INVALID', `Unknown filter ${unknown.join(', ')}; the filters are ${FILTER_NAMES.join(', ')}.`);
  const f: MessageFilter = {};
  for (const name of FILTER_NAMES) {
    const value = name === 'receivedFrom' || name === 'receivedTo' ? dateParam(input[name], name) : textParam(input[name], name, 300);
    if (value !== undefined) (f as Record<string, unknown>)[name] = value;
  }
  return f;
}

/** The message's bytes as they arrived (or as we sent them), read and sent a slice at a time. */
async function rawDownload(ctx: Context, knex: Knex, id: string): Promise<void> {
  const m = await knex('messages').first('size_bytes', 'content_type', 'file_name').where('id', id);
  if (!m) throw new GatewayError('GW_NOT_FOUND', `No message ${id}.`);
  const size = Number(m.size_bytes);
  const name = (m.file_name ?? `${id}.raw`).replace(/[^A-Za-z0-9._-]/g, '_');
  // A partner's bytes are never rendered on our origin: downloaded, not sniffed, and sandboxed if opened.
  ctx.set('content-type', m.content_type);
  ctx.set('content-disposition', `attachment; filename="${name}"`);
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('content-security-policy', 'sandbox');
  ctx.set('cache-control', 'no-store');
  ctx.length = size;
  ctx.body = Readable.from(slices(knex, id, size));
}

async function* slices(knex: Knex, id: string, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < size; offset += RAW_SLICE_BYTES) {
    const part = await readRawSlice(knex, id, offset, Math.min(RAW_SLICE_BYTES, size - offset));
    if (!part.length) throw new Error(`message ${id}: raw bytes end at ${offset} of ${size}`);
    yield part;
  }
}

/**
 * A bulk action's body: `{ filter, confirm: true, limit }`; at least one filter, at most
 * BULK_ACTION_MAX messages (the newest matching), each one's outcome answered.
 */
async function bulkFromBody(knex: Knex, action: OpsAction, body: Record<string, unknown>, actor: Actor) {
  if (body.confirm !== true) throw new GatewayError('GW_REQUEST_INVALID', `A bulk ${action} needs "confirm": true.`);
  const filterInput = body.filter ?? {};
  if (typeof filterInput !== 'object' || Array.isArray(filterInput) || filterInput === null)
    throw new GatewayError('GW_REQUEST_INVALID', 'filter must be an object of search filters.');
  const filter = filterOf(filterInput as Record<string, unknown>);
  const limit = integerParam(body.limit, 'limit', { min: 1, max: BULK_ACTION_MAX, fallback: BULK_ACTION_MAX });
  return bulkAction(knex, action, filter, limit, actor);
}
