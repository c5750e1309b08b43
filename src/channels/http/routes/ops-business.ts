import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import {
  actOnException,
  decideHold,
  EXCEPTION_STATES,
  type ExceptionAction,
  HOLD_STATES,
  listExceptions,
  listHolds,
  readException,
} from '../../../pipeline/business-exceptions.js';
import { purchaseOrderView } from '../../../pipeline/purchase-order-views.js';
import { actorOf } from '../auth.js';
import { integerParam, readJson, textParam, uuidParam } from '../request.js';

/** The most rows one list of exceptions or holds answers. */
export const LIST_MAX = 500;

/**
 * The operations API's business side (decision 0036): tolerance exceptions (list, assign, resolve,
 * waive), held documents (list, release, reject) and any partner's PO timeline. Mounted on the
 * operations router, behind its callers (operations and admin roles, admin keys); every action is audited.
 */
export function addBusinessRoutes(router: Router, d: { knex: Knex; config: () => GatewayConfig }): void {
  router.get('/exceptions', async (ctx) => {
    const q = ctx.query;
    const state = oneOf(textParam(q.state, 'state', 20), EXCEPTION_STATES, 'state');
    const partner = textParam(q.partner, 'partner');
    const rule = textParam(q.rule, 'rule', 40);
    const poNumber = textParam(q.poNumber, 'poNumber', 100);
    const limit = integerParam(q.limit, 'limit', { min: 1, max: LIST_MAX, fallback: 50, text: true });
    const filter = { ...(state ? { state } : {}), ...(partner ? { partner } : {}), ...(rule ? { rule } : {}), ...(poNumber ? { poNumber } : {}) };
    ctx.body = { items: await listExceptions(d.knex, filter, limit) };
  });
  router.get('/exceptions/:id', async (ctx) => {
    const id = uuidParam(ctx.params.id, 'exception');
    const found = await readException(d.knex, id);
    if (!found) throw new GatewayError('GW_NOT_FOUND', `No exception ${id}.`);
    ctx.body = found;
  });
  router.post('/exceptions/:id/:action', async (ctx) => {
    const id = uuidParam(ctx.params.id, 'exception');
    const action = exceptionAction(ctx.params.action as string, await readJson(ctx));
    ctx.body = await actOnException(d.knex, id, action, actorOf(ctx));
  });
  router.get('/holds', async (ctx) => {
    const state = oneOf(textParam(ctx.query.state, 'state', 20), HOLD_STATES, 'state');
    const limit = integerParam(ctx.query.limit, 'limit', { min: 1, max: LIST_MAX, fallback: 50, text: true });
    ctx.body = { items: await listHolds(d.knex, state, limit) };
  });
  router.post('/documents/:id/:decision', async (ctx) => {
    const id = uuidParam(ctx.params.id, 'document');
    const decision = ctx.params.decision;
    if (decision !== 'release' && decision !== 'reject') throw new GatewayError('GW_NOT_FOUND', `No action ${decision} on documents; use release or reject.`);
    const body = await readJson(ctx);
    const note = textParam(body.note, 'note', 2000);
    if (decision === 'reject' && !note) throw new GatewayError('GW_REQUEST_INVALID', 'Rejecting a held document needs a "note" saying why.');
    ctx.body = await decideHold(d.knex, d.config(), id, decision, actorOf(ctx), note);
  });
  router.get('/purchase-orders/:po', async (ctx) => {
    const po = textParam(ctx.params.po, 'purchase order number', 100) as string;
    const view = await purchaseOrderView(d.knex, po, textParam(ctx.query.partner, 'partner'));
    if (!view) throw new GatewayError('GW_NOT_FOUND', `No purchase order ${po}.`);
    ctx.body = view;
  });
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new GatewayError('GW_REQUEST_INVALID', `${name} must be one of ${allowed.join(', ')}.`);
  return value as T;
}

/** The action of `POST /exceptions/:id/<assign|resolve|waive>` from its body. */
function exceptionAction(name: string, body: Record<string, unknown>): ExceptionAction {
  if (name === 'assign') {
    const assignee = textParam(body.assignee, 'assignee', 200);
    if (!assignee) throw new GatewayError('GW_REQUEST_INVALID', 'Assigning needs an "assignee".');
    return { kind: 'assign', assignee };
  }
  const note = textParam(body.note, 'note', 2000);
  if (name === 'resolve') {
    if (!note) throw new GatewayError('GW_REQUEST_INVALID', 'Resolving an exception needs a "note" saying how.');
    return { kind: 'resolve', note };
  }
  if (name === 'waive') return { kind: 'waive', ...(note ? { note } : {}) };
  throw new GatewayError('GW_NOT_FOUND', `No action ${name} on exceptions; use assign, resolve or waive.`);
}
