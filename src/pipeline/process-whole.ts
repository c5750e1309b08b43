import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { queueDocumentDeliveries } from '../delivery/outbox.js';
import type { Problem } from '../errors.js';
import type { TimelineEvent } from '../observability/events.js';
import { recordEvents } from '../observability/events.js';
import type { MessageState } from '../types.js';
import { documentRecords, withinScope, type ClaimedMessage } from './document-records.js';
import { insertDocuments, type NewDocument } from './documents.js';
import type { ReadyInterpretation } from './interpreter.js';
import { finishInterpretations } from './messages.js';

/** The timeline line that says what interpretation found in a whole (not X12) body. */
export function interpretedEvent(row: ClaimedMessage, result: ReadyInterpretation): TimelineEvent {
  const envelope = result.problems.length ? `, ${result.problems.length} envelope problem(s)` : '';
  return { message_id: row.id, type: 'interpreted', detail: `${row.format}: ${result.documents.length} document(s)${envelope}` };
}

/** The timeline lines of problems that concern the whole message. */
export function messageProblemEvents(row: ClaimedMessage, problems: readonly Problem[]): TimelineEvent[] {
  return problems.map((p) => ({ message_id: row.id, type: 'rejected', code: p.code, detail: p.message, data: { location: p.location ?? null } }));
}

/** A whole message's final state from its documents: routed when one was accepted, rejected when nothing was and something was wrong. */
function finalState(row: ClaimedMessage, problems: readonly Problem[], documents: readonly NewDocument[]) {
  const count = (state: NewDocument['state']) => documents.filter((d) => d.state === state).length;
  const finished = (state: MessageState, why: readonly Problem[]) => ({ id: row.id, state, problems: why });
  if (count('accepted') > 0) return finished('routed', problems);
  if (count('rejected') === 0 && problems.length === 0) return finished('processed', []);
  if (problems.length) return finished('rejected', problems);
  const rejected = documents.filter((d) => d.state === 'rejected').slice(0, 50);
  return finished(
    'rejected',
    rejected.flatMap((d) => JSON.parse(String(d.problems)) as Problem[]),
  );
}

/**
 * Writes the outcome of many whole (JSON, XML, CSV) messages at once: one insert each for their
 * documents, deliveries and timeline, one statement for their states. What one message by itself
 * would write (src/pipeline/process.ts), in a few round trips for the batch instead of a few per
 * message.
 */
export async function writeWholeMessages(
  trx: Knex.Transaction,
  config: GatewayConfig,
  items: readonly { row: ClaimedMessage; result: ReadyInterpretation }[],
): Promise<void> {
  const documents: NewDocument[] = [];
  const deliveries: Parameters<typeof queueDocumentDeliveries>[1][number][] = [];
  const events: TimelineEvent[] = [];
  const finished: ReturnType<typeof finalState>[] = [];
  for (const { row, result } of items) {
    const partner = config.partners.get(row.partner_id);
    if (!partner) throw new Error(`partner ${row.partner_id} is no longer configured`);
    events.push(interpretedEvent(row, result));
    const records = result.documents.map((doc) => documentRecords(partner, row, randomUUID(), withinScope(row, doc), false));
    for (const r of records) documents.push(r.document), deliveries.push(...r.deliveries), events.push(...r.events);
    events.push(...messageProblemEvents(row, result.problems));
    finished.push(
      finalState(
        row,
        result.problems,
        records.map((r) => r.document),
      ),
    );
  }
  await insertDocuments(trx, documents);
  await queueDocumentDeliveries(trx, deliveries);
  await recordEvents(trx, events);
  await finishInterpretations(trx, finished);
}
