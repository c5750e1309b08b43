import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { queueDocumentDeliveries } from '../delivery/outbox.js';
import type { Problem } from '../errors.js';
import type { TimelineEvent } from '../observability/events.js';
import { recordEvents } from '../observability/events.js';
import type { MessageState, PartnerProfile } from '../types.js';
import { documentRecords, withinScope, type ClaimedMessage } from './document-records.js';
import { copyDocuments, type InterpretedDocument } from './documents.js';
import type { ReadyInterpretation } from './interpreter.js';
import { countDocuments, firstNumbers, type Interpreted } from './interpreted-report.js';
import { finishInterpretations } from './messages.js';
import { type DocumentRecord, linkToPurchaseOrders, partnersToLink } from './po-intake.js';

/** The timeline line that says what interpretation found in a whole (JSON, XML, CSV) body. */
export function interpretedEvent(row: ClaimedMessage, result: ReadyInterpretation): TimelineEvent {
  const envelope = result.problems.length ? `, ${result.problems.length} envelope problem(s)` : '';
  return { message_id: row.id, type: 'interpreted', detail: `${row.format}: ${result.documents.length} document(s)${envelope}` };
}

/** The timeline lines of problems that concern the whole message. */
export function messageProblemEvents(row: ClaimedMessage, problems: readonly Problem[]): TimelineEvent[] {
  return problems.map((p) => ({ message_id: row.id, type: 'rejected', code: p.code, detail: p.message, data: { location: p.location ?? null } }));
}

/** Rejected documents whose problems a rejected message shows when nothing concerned the whole message. */
export const REJECTED_DOCUMENTS_SHOWN = 50;

/**
 * What interpretation comes to for a message: routed when a document was accepted; duplicate or
 * processed when nothing was accepted and nothing was wrong (a resent interchange, acknowledgments);
 * rejected otherwise. `problems` is absent when the rejected documents' own problems say why.
 */
export function messageOutcome(
  documents: { accepted: number; rejected: number; duplicates: number; reconciled: number },
  problems: readonly Problem[],
): { state: MessageState; problems?: readonly Problem[] } {
  if (documents.accepted > 0) return { state: 'routed', problems };
  if (documents.rejected === 0 && problems.length === 0)
    return { state: documents.duplicates > 0 && documents.reconciled === 0 ? 'duplicate' : 'processed', problems: [] };
  return problems.length ? { state: 'rejected', problems } : { state: 'rejected' };
}

/** A whole message's final state from its documents (held in memory here). */
function finalState(row: ClaimedMessage, problems: readonly Problem[], documents: readonly InterpretedDocument[]) {
  const count = (state: InterpretedDocument['state']) => documents.filter((d) => d.state === state).length;
  const outcome = messageOutcome({ accepted: count('accepted'), rejected: count('rejected'), duplicates: 0, reconciled: 0 }, problems);
  const rejected = () =>
    documents
      .filter((d) => d.state === 'rejected')
      .slice(0, REJECTED_DOCUMENTS_SHOWN)
      .flatMap((d) => JSON.parse(String(d.problems)) as Problem[]);
  return { id: row.id, state: outcome.state, problems: outcome.problems ?? rejected() };
}

/**
 * Writes the outcome of many whole (JSON, XML, CSV) messages at once: one insert each for their
 * documents, deliveries and timeline, one statement for their states. What one message by itself
 * would write (src/pipeline/process.ts), in a few round trips for the batch instead of a few per
 * message. Returns what each message came to.
 */
export async function writeWholeMessages(
  trx: Knex.Transaction,
  config: GatewayConfig,
  items: readonly { row: ClaimedMessage; result: ReadyInterpretation }[],
): Promise<Interpreted[]> {
  const written: { partner: PartnerProfile; records: DocumentRecord[] }[] = [];
  const finished: ReturnType<typeof finalState>[] = [];
  const outcomes: Interpreted[] = [];
  for (const { row, result } of items) {
    const partner = config.partners.get(row.partner_id);
    if (!partner) throw new Error(`partner ${row.partner_id} is no longer configured`);
    const records = result.documents.map((doc) => documentRecords(partner, row, randomUUID(), withinScope(row, doc), false));
    written.push({ partner, records });
    const mine = records.map((r) => r.document);
    const final = finalState(row, result.problems, mine);
    finished.push(final);
    outcomes.push({
      row,
      state: final.state,
      problems: final.problems,
      documents: countDocuments(mine),
      numbers: firstNumbers(mine.map((d) => d.document_number)),
    });
  }
  await copyDocuments(
    trx,
    written.flatMap((w) => w.records.map((r) => r.document)),
  );
  const deliveries: Parameters<typeof queueDocumentDeliveries>[1][number][] = [];
  const events: TimelineEvent[] = [];
  const linking = await partnersToLink(trx, written);
  for (const [i, { row, result }] of items.entries()) {
    const { partner, records } = written[i] as (typeof written)[number];
    events.push(interpretedEvent(row, result));
    // In message order: a ship notice's quantities count before the next message's invoice is checked.
    const linked = linking.has(partner.id) ? await linkToPurchaseOrders(trx, partner, records) : records;
    for (const r of linked) deliveries.push(...r.deliveries), events.push(...r.events);
    events.push(...messageProblemEvents(row, result.problems));
  }
  await queueDocumentDeliveries(trx, deliveries);
  await recordEvents(trx, events);
  await finishInterpretations(trx, finished);
  return outcomes;
}
