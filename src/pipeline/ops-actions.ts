import type { Knex } from 'knex';
import { GatewayError, isGatewayError } from '../errors.js';
import { audit } from '../security/audit.js';
import type { Actor } from '../security/credentials.js';
import { type MessageFilter, matchingIds } from './message-search.js';
import { redeliverMessage, reinterpretMessage, type ReplayOutcome } from './replay.js';

/**
 * The operators' actions on messages (decisions 0024, 0030), audited under the person or key that
 * asked. The operations API and the console's pages call these same functions.
 * - `replay`: interpret a rejected or failed message again from its stored raw bytes;
 * - `redeliver`: send its canonical documents again to their targets (new outbox rows).
 */
export type OpsAction = 'replay' | 'redeliver';

export const OPS_ACTIONS: readonly OpsAction[] = ['replay', 'redeliver'];

/** The most messages one bulk action touches; a larger selection is handled by asking again. */
export const BULK_ACTION_MAX = 500;

const RUN: Record<OpsAction, (knex: Knex, id: string) => Promise<ReplayOutcome>> = { replay: reinterpretMessage, redeliver: redeliverMessage };

/** One message's action, audited (`message.<action>`), refused or not, under the caller. */
export async function auditedAction(knex: Knex, action: OpsAction, id: string, actor: Actor, bulk = false): Promise<ReplayOutcome> {
  const entry = { ...actor, action: `message.${action}`, target: `message:${id}` };
  const marker = bulk ? { bulk } : {};
  try {
    const r = await RUN[action](knex, id);
    await audit(knex, { ...entry, outcome: 'ok', details: { ...r, ...marker } });
    return r;
  } catch (err) {
    const code = isGatewayError(err) ? err.code : 'GW_INTERNAL';
    await audit(knex, { ...entry, outcome: 'denied', details: { code, error: (err as Error).message, ...marker } });
    throw err;
  }
}

export interface BulkOutcome {
  messageId: string;
  outcome: ReplayOutcome['action'] | 'refused';
  deliveries?: number;
  code?: string;
  message?: string;
}

export interface BulkResult {
  selected: number;
  /** More messages matched than `limit`: asking again continues (handled ones no longer match state=dead). */
  more: boolean;
  outcomes: BulkOutcome[];
}

/** How many messages a filter selects for a bulk action (at most `limit`), and whether more match. */
export async function bulkSelection(knex: Knex, filter: MessageFilter, limit: number): Promise<{ ids: string[]; more: boolean }> {
  if (!Object.keys(filter).length) throw new GatewayError('GW_REQUEST_INVALID', 'A bulk action needs at least one filter (state=dead, a partner…).');
  const ids = await matchingIds(knex, filter, limit + 1);
  return { ids: ids.slice(0, limit), more: ids.length > limit };
}

/**
 * The action on the newest messages matching a filter (at most `limit`), each on its own
 * transaction and audited, and the bulk request itself (`message.<action>.bulk`); answers each
 * one's outcome. The caller has asked for confirmation.
 */
export async function bulkAction(knex: Knex, action: OpsAction, filter: MessageFilter, limit: number, actor: Actor): Promise<BulkResult> {
  const { ids, more } = await bulkSelection(knex, filter, limit);
  await audit(knex, { ...actor, action: `message.${action}.bulk`, outcome: 'ok', details: { filter, limit, selected: ids.length } });
  const outcomes: BulkOutcome[] = [];
  for (const id of ids) {
    try {
      const r = await auditedAction(knex, action, id, actor, true);
      outcomes.push({ messageId: id, outcome: r.action, deliveries: r.deliveries });
    } catch (err) {
      if (!isGatewayError(err)) throw err;
      outcomes.push({ messageId: id, outcome: 'refused', code: err.code, message: err.message });
    }
  }
  return { selected: ids.length, more, outcomes };
}
