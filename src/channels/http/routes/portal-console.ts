import { isUtf8 } from 'node:buffer';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { relatedMessages } from '../../../pipeline/message-relations.js';
import { SEARCH_LIMIT_MAX, searchMessages } from '../../../pipeline/message-search.js';
import { auditedAction, BULK_ACTION_MAX, bulkAction, bulkSelection, OPS_ACTIONS, type OpsAction } from '../../../pipeline/ops-actions.js';
import { readRawSlice } from '../../../pipeline/raw-store.js';
import { messageStatus } from '../../../pipeline/status.js';
import type { Actor } from '../../../security/credentials.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import { portalPrincipalOf, portalUser, requireFormToken } from '../portal-auth.js';
import { ACTION_WORDS, bulkConfirmPage, bulkResultPage, type FilterFields, messagePage, type RawView, searchPage } from '../portal-console-pages.js';
import { mediaTypeOf, readBody, uuidParam } from '../request.js';
import { FILTER_NAMES, filterOf, OPS_ROLES } from './ops.js';
import { pageErrors, pageHeaders } from './portal.js';

export interface ConsoleDeps {
  knex: Knex;
  config: () => GatewayConfig;
  access: PortalAccess;
}

const PAGE_SIZE = 50;
/** Raw payloads up to this size are shown on the page; larger ones are only downloaded. */
const SHOWN_RAW_BYTES = 256 * 1024;
/** A console form is a filter and a token: a few kilobytes at most. */
const FORM_LIMIT = 16_384;

/**
 * The operations console (decision 0030): search, a message's page, and its actions, for the
 * operations and admin roles (others get GW_PORTAL_ROLE's page). Every action calls the same
 * pipeline function as the operations API (`pipeline/ops-actions.ts`), audited as `portal:<user>`.
 */
export function consoleRoutes(d: ConsoleDeps): Router {
  const router = new Router({ prefix: '/portal/console' });
  router.use(pageHeaders, pageErrors, portalUser(d.access, OPS_ROLES));
  router.get('/messages', async (ctx) => searchRoute(ctx, d));
  router.get('/messages/:id', async (ctx) => messageRoute(ctx, d));
  for (const action of OPS_ACTIONS) router.post(`/messages/:id/${action}`, async (ctx) => actionRoute(ctx, d, action));
  router.post('/bulk', async (ctx) => bulkRoute(ctx, d));
  return router;
}

/**
 * The filter fields of a form or query string, empty ones left out (an empty field is no filter).
 * Any other name than a filter's or one of `extra` is refused: a mistyped filter must not widen a
 * bulk action's selection.
 */
function fieldsOf(params: URLSearchParams, extra: readonly string[]): FilterFields {
  const known = [...FILTER_NAMES, ...extra];
  const unknown = [...new Set(params.keys())].filter((k) => !known.includes(k));
  if (unknown.length) throw new GatewayError('GW_REQUEST_INVALID', `Unknown filter ${unknown.join(', ')}; the filters are ${FILTER_NAMES.join(', ')}.`);
  const fields: FilterFields = {};
  for (const name of FILTER_NAMES) {
    const value = params.get(name)?.trim();
    if (value) fields[name] = value;
  }
  return fields;
}

async function searchRoute(ctx: Context, d: ConsoleDeps): Promise<void> {
  const query = new URLSearchParams(ctx.querystring);
  const fields = fieldsOf(query, ['cursor']);
  const cursor = query.get('cursor') ?? undefined;
  const searched = query.size > 0;
  const result = searched ? await searchMessages(d.knex, filterOf(fields), Math.min(PAGE_SIZE, SEARCH_LIMIT_MAX), cursor) : undefined;
  const nextQuery = result?.nextCursor ? new URLSearchParams({ ...fields, cursor: result.nextCursor }).toString() : undefined;
  ctx.type = 'html';
  ctx.body = searchPage({
    principal: portalPrincipalOf(ctx),
    partners: [...d.config().partners.keys()].sort(),
    fields,
    ...(result ? { result } : {}),
    ...(nextQuery ? { nextQuery } : {}),
  });
}

async function messageRoute(ctx: Context, d: ConsoleDeps): Promise<void> {
  const id = uuidParam(ctx.params.id, 'message');
  const m = await messageStatus(d.knex, undefined, id);
  if (!m) throw new GatewayError('GW_NOT_FOUND', `No message ${id}.`);
  const [raw, related] = await Promise.all([rawView(d.knex, id, m.format, Number(m.sizeBytes)), relatedMessages(d.knex, id)]);
  const done = typeof ctx.query.done === 'string' ? ctx.query.done : undefined;
  ctx.type = 'html';
  ctx.body = messagePage({ principal: portalPrincipalOf(ctx), m, raw, related, notice: noticeOf(done, ctx.query.n) });
}

function noticeOf(done: string | undefined, n: unknown): string | undefined {
  if (done === 'replay') return 'Replayed: the message is being interpreted again from its raw bytes.';
  if (done === 'redeliver') return `Redelivered: ${typeof n === 'string' ? n : 'its'} document deliveries queued again.`;
  return undefined;
}

/** The stored bytes laid out for reading: X12 one segment a line, JSON indented, other text as it is. */
async function rawView(knex: Knex, id: string, format: string, size: number): Promise<RawView> {
  if (size > SHOWN_RAW_BYTES) return { kind: 'too-large', note: `The payload is ${size} bytes, too large to show here: download it.` };
  const bytes = await readRawSlice(knex, id, 0, size);
  if (!isUtf8(bytes) || bytes.includes(0)) return { kind: 'binary', note: 'The payload is not text (an AS2 message, a binary file): download it.' };
  const text = bytes.toString('utf8');
  if (format === 'x12') return { kind: 'x12', segments: x12Segments(text) };
  if (format === 'json') return { kind: 'text', text: indentedJson(text) };
  return { kind: 'text', text: text.replace(/\r\n?/g, '\n') };
}

/** The segments of an X12 text: the terminator is the character after ISA16 (the 106th), else `~`. */
export function x12Segments(text: string): string[] {
  const start = text.trimStart();
  const terminator = start.startsWith('ISA') && start.length > 105 ? start.charAt(105) : '~';
  return start
    .split(terminator)
    .map((s) => s.replace(/^[\r\n]+|[\r\n]+$/g, ''))
    .filter((s) => s.length > 0)
    .map((s) => `${s}${terminator}`);
}

function indentedJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text; // not valid JSON: shown as it came (its problems say why)
  }
}

const actorOf = (ctx: Context): Actor => ({ actor: `portal:${portalPrincipalOf(ctx).username}`, source: ctx.ip });

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
    throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Console forms are posted as application/x-www-form-urlencoded.');
  const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT, ' for a console form')).toString('utf8'));
  requireFormToken(portalPrincipalOf(ctx).session.csrfToken, form.get('csrf'));
  return form;
}

/** One message's replay or redelivery; refused without its confirmation box ticked. */
async function actionRoute(ctx: Context, d: ConsoleDeps, action: OpsAction): Promise<void> {
  const id = uuidParam(ctx.params.id, 'message');
  const form = await readForm(ctx);
  if (form.get('confirm') !== 'yes')
    throw new GatewayError('GW_REQUEST_INVALID', `Tick "I confirm" to ${ACTION_WORDS[action].verb.toLowerCase()} message ${id}; nothing was done.`);
  const r = await auditedAction(d.knex, action, id, actorOf(ctx));
  ctx.status = 303;
  ctx.redirect(`/portal/console/messages/${id}?done=${action}&n=${r.deliveries}`);
}

/**
 * A bulk action from the search (or the dead letters) page: the filter fields carry the API's
 * filter names. Without `confirm=yes`, it answers how many match and asks to confirm; with it, it
 * acts on each and reports each outcome.
 */
async function bulkRoute(ctx: Context, d: ConsoleDeps): Promise<void> {
  const form = await readForm(ctx);
  const action = form.get('action') as OpsAction;
  if (!OPS_ACTIONS.includes(action)) throw new GatewayError('GW_REQUEST_INVALID', `action must be one of ${OPS_ACTIONS.join(', ')}.`);
  const fields = fieldsOf(form, ['csrf', 'action', 'confirm']);
  const filter = filterOf(fields);
  ctx.type = 'html';
  if (form.get('confirm') !== 'yes') {
    const { ids, more } = await bulkSelection(d.knex, filter, BULK_ACTION_MAX);
    ctx.body = bulkConfirmPage({ principal: portalPrincipalOf(ctx), action, fields, selected: ids.length, more });
    return;
  }
  ctx.body = bulkResultPage(action, await bulkAction(d.knex, action, filter, BULK_ACTION_MAX, actorOf(ctx)));
}
