import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { queueDocumentDeliveries } from '../delivery/outbox.js';
import { GatewayError } from '../errors.js';
import { recordEvents } from '../observability/events.js';
import { audit } from '../security/audit.js';
import type { Actor } from '../security/credentials.js';
import { notify } from '../store/signals.js';
import { noteBusinessEvent } from './po-events.js';
import { documentDeliveries } from './document-records.js';
import { setMessageState } from './messages.js';
import { withLifecycleRoutes } from './partner-lifecycle.js';
import type { Finding } from './po-tolerances.js';

/*
 * Tolerance exceptions and held documents (decision 0036): the `business_exceptions` and
 * `document_holds` tables are written only here. Exceptions are raised as documents are accepted
 * (src/pipeline/po-intake.ts); people act on them through the operations API, audited.
 */

export const EXCEPTION_STATES = ['open', 'assigned', 'resolved', 'waived'] as const;
export type ExceptionState = (typeof EXCEPTION_STATES)[number];

/** What a person may do to an exception (`POST /ops/v1/exceptions/:id/<action>`). */
export const EXCEPTION_ACTIONS = ['assign', 'resolve', 'waive'] as const;

/** Where a held document stands, and what a person may decide on one (`POST /ops/v1/documents/:id/<decision>`). */
export const HOLD_STATES = ['held', 'released', 'rejected'] as const;
export const HOLD_DECISIONS = ['release', 'reject'] as const;

/** The document an exception or hold is about. */
export interface ExceptionDocument {
  documentId: string;
  messageId: string;
  partnerId: string;
}

/** Raises one exception per finding; returns their ids. `poIds` maps PO numbers to the ledger's ids. */
export async function raiseExceptions(
  trx: Knex.Transaction,
  doc: ExceptionDocument,
  findings: readonly Finding[],
  poIds: ReadonlyMap<string, string>,
): Promise<string[]> {
  const rows = findings.map((f) => ({
    id: randomUUID(),
    partner_id: doc.partnerId,
    rule: f.rule,
    action: f.action,
    facts: JSON.stringify({ ...f.facts, ...(f.line !== null ? { line: f.line } : {}), message: f.message }),
    document_id: doc.documentId,
    message_id: doc.messageId,
    po_id: (f.poNumber !== null && poIds.get(f.poNumber)) || null,
    po_number: f.poNumber,
  }));
  if (!rows.length) return [];
  await trx('business_exceptions').insert(rows);
  await noteBusinessEvent(
    trx,
    ...rows.map((r, i) => {
      const f = findings[i] as Finding;
      return {
        type: 'exception.raised' as const,
        partnerId: doc.partnerId,
        messageId: doc.messageId,
        documentId: doc.documentId,
        detail: `${f.rule} (${f.action}): ${f.message}`,
        data: { exceptionId: r.id, rule: f.rule, action: f.action, facts: f.facts, poNumber: f.poNumber },
      };
    }),
  );
  return rows.map((r) => r.id);
}

/** Holds a document back from delivery until a person releases or rejects it. */
export async function holdDocument(trx: Knex.Transaction, doc: ExceptionDocument, exceptionIds: readonly string[]): Promise<void> {
  await trx('document_holds').insert({ document_id: doc.documentId, message_id: doc.messageId, partner_id: doc.partnerId });
  await recordEvents(trx, [
    {
      message_id: doc.messageId,
      document_id: doc.documentId,
      type: 'document.held',
      detail: `held by a tolerance rule (${exceptionIds.length} exception(s)); not delivered until released`,
      data: { exceptions: exceptionIds },
    },
  ]);
}

/** Documents taken back after all (their group or interchange was rejected) are no longer held. */
export async function dropHolds(trx: Knex.Transaction, documentIds: readonly string[]): Promise<void> {
  if (documentIds.length)
    await trx('document_holds')
      .whereIn('document_id', documentIds as string[])
      .andWhere('state', 'held')
      .del();
}

/** An exception as the operations API shows it. */
export interface ExceptionView {
  id: string;
  partnerId: string;
  rule: string;
  action: string;
  facts: Record<string, unknown>;
  documentId: string;
  messageId: string;
  poNumber: string | null;
  state: ExceptionState;
  assignee: string | null;
  note: string | null;
  changedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The document's hold, when its rule held it: held, released or rejected. */
  hold: string | null;
}

export interface ExceptionFilter {
  state?: ExceptionState;
  partner?: string;
  rule?: string;
  poNumber?: string;
}

const VIEW_COLUMNS = [
  'e.id',
  'e.partner_id',
  'e.rule',
  'e.action',
  'e.facts',
  'e.document_id',
  'e.message_id',
  'e.po_number',
  'e.state',
  'e.assignee',
  'e.note',
  'e.changed_by',
  'e.created_at',
  'e.updated_at',
  'h.state as hold',
];

/** A row of the exceptions query (VIEW_COLUMNS). */
interface ExceptionRow {
  id: string;
  partner_id: string;
  rule: string;
  action: string;
  facts: Record<string, unknown>;
  document_id: string;
  message_id: string;
  po_number: string | null;
  state: ExceptionState;
  assignee: string | null;
  note: string | null;
  changed_by: string | null;
  created_at: Date;
  updated_at: Date;
  hold: string | null;
}

function viewOf(r: ExceptionRow): ExceptionView {
  return {
    id: r.id,
    partnerId: r.partner_id,
    rule: r.rule,
    action: r.action,
    facts: r.facts,
    documentId: r.document_id,
    messageId: r.message_id,
    poNumber: r.po_number,
    state: r.state,
    assignee: r.assignee,
    note: r.note,
    changedBy: r.changed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    hold: r.hold ?? null,
  };
}

function exceptionQuery(db: Knex | Knex.Transaction) {
  return db('business_exceptions as e').leftJoin('document_holds as h', 'h.document_id', 'e.document_id').select(VIEW_COLUMNS);
}

/** Exceptions, newest first, filtered. */
export async function listExceptions(knex: Knex, filter: ExceptionFilter, limit: number): Promise<ExceptionView[]> {
  const q = exceptionQuery(knex).orderBy('e.created_at', 'desc').orderBy('e.id').limit(limit);
  if (filter.state) q.where('e.state', filter.state);
  if (filter.partner) q.where('e.partner_id', filter.partner);
  if (filter.rule) q.where('e.rule', filter.rule);
  if (filter.poNumber) q.where('e.po_number', filter.poNumber);
  return ((await q) as ExceptionRow[]).map(viewOf);
}

export async function readException(db: Knex | Knex.Transaction, id: string): Promise<ExceptionView | undefined> {
  const r: ExceptionRow | undefined = await exceptionQuery(db).where('e.id', id).first();
  return r ? viewOf(r) : undefined;
}

/** What a person may do to an exception. */
export type ExceptionAction = { kind: 'assign'; assignee: string } | { kind: 'resolve'; note: string } | { kind: 'waive'; note?: string };

/**
 * Assigns, resolves or waives an exception, audited under the caller (`exception.<kind>`). A
 * resolved or waived exception is final (GW_EXCEPTION_STATE).
 */
export async function actOnException(knex: Knex, id: string, action: ExceptionAction, actor: Actor): Promise<ExceptionView> {
  const entry = { ...actor, action: `exception.${action.kind}`, target: `exception:${id}` };
  try {
    const view = await knex.transaction(async (trx) => {
      const row = await trx('business_exceptions').first('*').where('id', id).forUpdate();
      if (!row) throw new GatewayError('GW_NOT_FOUND', `No exception ${id}.`);
      if (row.state === 'resolved' || row.state === 'waived') throw new GatewayError('GW_EXCEPTION_STATE', `Exception ${id} is ${row.state} already.`);
      const on = { partnerId: row.partner_id, messageId: row.message_id, documentId: row.document_id };
      if (action.kind === 'assign') {
        await trx('business_exceptions')
          .where('id', id)
          .update({ state: 'assigned', assignee: action.assignee, changed_by: actor.actor, updated_at: trx.fn.now() });
        await recordEvents(trx, [
          {
            partner_id: on.partnerId,
            message_id: on.messageId,
            document_id: on.documentId,
            type: 'exception.assigned',
            detail: `${row.rule} exception assigned to ${action.assignee} by ${actor.actor}`,
            data: { exceptionId: id, assignee: action.assignee, by: actor.actor },
          },
        ]);
      } else {
        const state = action.kind === 'resolve' ? 'resolved' : 'waived';
        const note = action.note ?? null;
        await trx('business_exceptions').where('id', id).update({ state, note, changed_by: actor.actor, updated_at: trx.fn.now() });
        await noteBusinessEvent(trx, {
          type: 'exception.resolved',
          ...on,
          detail: `${row.rule} exception ${state} by ${actor.actor}${note ? `: ${note}` : ''}`,
          data: { exceptionId: id, rule: row.rule, state, by: actor.actor, note },
        });
      }
      await audit(trx, { ...entry, outcome: 'ok', details: { partner: row.partner_id, ...action } });
      return (await readException(trx, id)) as ExceptionView;
    });
    return view;
  } catch (err) {
    await audit(knex, { ...entry, outcome: 'denied', details: { error: (err as Error).message } });
    throw err;
  }
}

/** A held document as the operations API shows it. */
export interface HoldView {
  documentId: string;
  messageId: string;
  partnerId: string;
  state: (typeof HOLD_STATES)[number];
  decidedBy: string | null;
  note: string | null;
  heldAt: Date;
  decidedAt: Date | null;
}

interface HoldRow {
  document_id: string;
  message_id: string;
  partner_id: string;
  state: HoldView['state'];
  decided_by: string | null;
  note: string | null;
  held_at: Date;
  decided_at: Date | null;
}

/** A document_holds row as the operations API shows it. */
function holdView(r: HoldRow): HoldView {
  return {
    documentId: r.document_id,
    messageId: r.message_id,
    partnerId: r.partner_id,
    state: r.state,
    decidedBy: r.decided_by,
    note: r.note,
    heldAt: r.held_at,
    decidedAt: r.decided_at,
  };
}

export async function listHolds(knex: Knex, state: HoldView['state'] | undefined, limit: number): Promise<HoldView[]> {
  const q = knex('document_holds').select('*').orderBy('held_at', 'desc').limit(limit);
  if (state) q.where('state', state);
  return (await q).map(holdView);
}

/**
 * A person's decision on a held document, audited (`document.release` / `document.reject`):
 * released, its deliveries are queued through the outbox with the keys they would have had;
 * rejected, it is never delivered. Either is final (GW_EXCEPTION_STATE).
 */
export async function decideHold(
  knex: Knex,
  config: GatewayConfig,
  documentId: string,
  decision: (typeof HOLD_DECISIONS)[number],
  actor: Actor,
  note?: string,
): Promise<HoldView & { deliveries: number }> {
  const entry = { ...actor, action: `document.${decision}`, target: `document:${documentId}` };
  try {
    const result = await knex.transaction(async (trx) => {
      const hold = await trx('document_holds').first('*').where('document_id', documentId).forUpdate();
      if (!hold) throw new GatewayError('GW_NOT_FOUND', `No held document ${documentId}.`);
      if (hold.state !== 'held') throw new GatewayError('GW_EXCEPTION_STATE', `Document ${documentId} was ${hold.state} already.`);
      const state = decision === 'release' ? 'released' : 'rejected';
      await trx('document_holds')
        .where('document_id', documentId)
        .update({ state, decided_by: actor.actor, note: note ?? null, decided_at: trx.fn.now() });
      const deliveries = decision === 'release' ? await queueReleased(trx, config, hold) : 0;
      const on = { message_id: hold.message_id, document_id: documentId, data: { by: actor.actor, ...(note ? { note } : {}) } };
      await recordEvents(trx, [
        decision === 'release'
          ? { ...on, type: 'document.released', detail: `released by ${actor.actor}: ${deliveries} deliver${deliveries === 1 ? 'y' : 'ies'} queued` }
          : { ...on, type: 'document.hold-rejected', detail: `rejected by ${actor.actor}${note ? `: ${note}` : ''}; never delivered` },
      ]);
      await audit(trx, { ...entry, outcome: 'ok', details: { partner: hold.partner_id, messageId: hold.message_id, deliveries, ...(note ? { note } : {}) } });
      return { hold, state, deliveries };
    });
    const [view] = (await listHoldsOf(knex, documentId)) as [HoldView];
    return { ...view, deliveries: result.deliveries };
  } catch (err) {
    await audit(knex, { ...entry, outcome: 'denied', details: { error: (err as Error).message } });
    throw err;
  }
}

async function listHoldsOf(knex: Knex, documentId: string): Promise<HoldView[]> {
  const all = await knex('document_holds').select('*').where('document_id', documentId);
  return all.map(holdView);
}

/** Queues the released document's deliveries to the routes its partner has now (test routes before go-live). */
async function queueReleased(trx: Knex.Transaction, loaded: GatewayConfig, hold: { document_id: string; message_id: string; partner_id: string }) {
  const config = await withLifecycleRoutes(trx, loaded, [hold.partner_id]);
  const partner = config.partners.get(hold.partner_id);
  if (!partner)
    throw new GatewayError('GW_CONFIG_REFERENCE', `Partner ${hold.partner_id} is no longer configured; restore its profile to release its document.`);
  const doc = await trx('documents').first('id', 'message_id', 'seq', 'type').where('id', hold.document_id);
  const deliveries = documentDeliveries(partner, doc);
  await queueDocumentDeliveries(trx, deliveries);
  await recordEvents(
    trx,
    deliveries.map((d) => ({
      message_id: d.messageId,
      document_id: d.documentId,
      delivery_id: d.id,
      type: 'routed' as const,
      detail: `to ${d.route.target.id}`,
    })),
  );
  if (deliveries.length) {
    // A message whose other documents were delivered meanwhile is on its way again.
    const m = await trx('messages').first('state').where('id', hold.message_id);
    if (m?.state === 'delivered') await setMessageState(trx, hold.message_id, 'routed');
    await notify(trx, 'deliveries');
  }
  return deliveries.length;
}
