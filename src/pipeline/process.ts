import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.js';
import type { Problem } from '../errors.js';
import type { PartnerProfile, SourceFormat } from '../types.js';
import { interpret, type InterpretedDocument } from './interpret.js';

interface MessageRow {
  id: string;
  partner_id: string;
  format: SourceFormat;
  raw: Buffer;
  correlation_id: string;
}

/** Stable across replays: the same document of the same message to the same target. */
function deliveryKey(messageId: string, seq: number, targetId: string): string {
  return `${messageId}.${seq}.${targetId}`;
}

/**
 * Claims up to `limit` received messages (FOR UPDATE SKIP LOCKED, so any number of gateway
 * processes can share the work), interprets each, and writes its documents, deliveries and timeline
 * in the same transaction as its new state. Returns how many messages were handled.
 */
export async function processBatch(knex: Knex, config: GatewayConfig, log: Logger, limit = 10): Promise<number> {
  return knex.transaction(async (trx) => {
    const rows: MessageRow[] = await trx('messages')
      .select('id', 'partner_id', 'format', 'raw', 'correlation_id')
      .where('state', 'received')
      .orderBy('received_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    for (const row of rows) {
      const mlog = log.child({ partner: row.partner_id, messageId: row.id, correlationId: row.correlation_id });
      try {
        await trx.transaction((sp) => processOne(sp, config, row));
      } catch (err) {
        // The savepoint rolled back whatever this message wrote; record the failure so it stays visible.
        mlog.error({ err }, 'processing failed unexpectedly');
        const problem: Problem = { code: 'GW_INTERNAL', message: `Processing failed unexpectedly: ${(err as Error).message}. The raw message is kept; replay it once the cause is fixed.` };
        await trx('messages').where('id', row.id).update({ state: 'failed', problems: JSON.stringify([problem]), attempts: trx.raw('attempts + 1'), updated_at: trx.fn.now() });
        await trx('events').insert({ message_id: row.id, type: 'failed', code: 'GW_INTERNAL', detail: problem.message });
      }
    }
    return rows.length;
  });
}

async function processOne(trx: Knex.Transaction, config: GatewayConfig, row: MessageRow): Promise<void> {
  const partner = config.partners.get(row.partner_id);
  if (!partner) {
    const problem: Problem = { code: 'GW_CONFIG_REFERENCE', message: `Partner ${row.partner_id} is no longer configured; restore its profile and replay the message.` };
    await finish(trx, row.id, 'failed', [problem]);
    await trx('events').insert({ message_id: row.id, type: 'failed', code: problem.code, detail: problem.message });
    return;
  }
  const result = interpret(row.raw, row.format, partner, config);
  await trx('events').insert({
    message_id: row.id,
    type: 'interpreted',
    detail: `${row.format}: ${result.documents.length} document(s)${result.problems.length ? `, ${result.problems.length} envelope problem(s)` : ''}`,
  });

  let accepted = 0;
  for (const doc of result.documents) {
    const documentId = randomUUID();
    const ok = doc.canonical !== null;
    await trx('documents').insert({
      id: documentId,
      message_id: row.id,
      seq: doc.seq,
      partner_id: row.partner_id,
      type: doc.type,
      schema_version: doc.schemaVersion,
      profile_id: doc.profile?.id ?? null,
      profile_version: doc.profile?.version ?? null,
      state: ok ? 'accepted' : 'rejected',
      canonical: ok ? JSON.stringify(doc.canonical) : null,
      problems: JSON.stringify(doc.problems),
      document_number: doc.keys.documentNumber ?? null,
      po_numbers: doc.keys.purchaseOrderNumbers,
      source_ref: doc.sourceRef,
    });
    if (!ok) {
      await trx('events').insert(doc.problems.map((p) => ({ message_id: row.id, document_id: documentId, type: 'document.rejected', code: p.code, detail: p.message, data: JSON.stringify({ location: p.location ?? null, sourceRef: doc.sourceRef }) })));
      continue;
    }
    accepted++;
    await trx('events').insert({ message_id: row.id, document_id: documentId, type: 'document.accepted', detail: `${doc.type} ${doc.keys.documentNumber ?? ''} (${doc.sourceRef}) mapped by ${doc.profile?.id} v${doc.profile?.version}` });
    await route(trx, partner, row, doc, documentId);
  }

  // Envelope problems (a bad interchange among good ones, or the whole message) go on the timeline.
  if (result.problems.length) {
    await trx('events').insert(result.problems.map((p) => ({ message_id: row.id, type: 'rejected', code: p.code, detail: p.message, data: JSON.stringify({ location: p.location ?? null }) })));
  }
  if (accepted === 0) {
    await finish(trx, row.id, 'rejected', result.problems.length ? result.problems : result.documents.flatMap((d) => d.problems));
    return;
  }
  // With no delivery queued (no route takes the type) the message stays `routed`, never `delivered`:
  // its `unrouted` events say why.
  await finish(trx, row.id, 'routed', result.problems);
}

async function route(trx: Knex.Transaction, partner: PartnerProfile, row: MessageRow, doc: InterpretedDocument, documentId: string): Promise<void> {
  const routes = partner.routes.filter((r) => doc.type && r.types.includes(doc.type));
  if (routes.length === 0) {
    await trx('events').insert({ message_id: row.id, document_id: documentId, type: 'unrouted', detail: `No route of partner ${partner.id} takes ${doc.type}; the document is stored but goes nowhere.` });
    return;
  }
  const deliveries = routes.map((r) => ({
    id: randomUUID(),
    document_id: documentId,
    message_id: row.id,
    partner_id: row.partner_id,
    target_id: r.target.id,
    target: JSON.stringify(r.target),
    idempotency_key: deliveryKey(row.id, doc.seq, r.target.id),
    max_attempts: r.maxAttempts,
  }));
  await trx('deliveries').insert(deliveries);
  await trx('events').insert(deliveries.map((d) => ({ message_id: row.id, document_id: documentId, delivery_id: d.id, type: 'routed', detail: `to ${d.target_id}` })));
}

async function finish(trx: Knex.Transaction, id: string, state: string, problems: Problem[]): Promise<void> {
  await trx('messages').where('id', id).update({ state, problems: JSON.stringify(problems), processed_at: trx.fn.now(), updated_at: trx.fn.now(), attempts: trx.raw('attempts + 1') });
}
