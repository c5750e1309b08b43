import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { dropDocumentDeliveries, queueDocumentDeliveries } from '../delivery/outbox.js';
import type { Problem } from '../errors.js';
import { recordEvents } from '../observability/events.js';
import type { PartnerProfile } from '../types.js';
import { dropHolds } from './business-exceptions.js';
import { documentRecords, withinScope, type ClaimedMessage } from './document-records.js';
import { copyDocuments, rejectDocuments } from './documents.js';
import { NUMBERS_LOGGED } from './interpreted-report.js';
import type { ReadyDocument } from './interpreter.js';
import { linkToPurchaseOrders } from './po-intake.js';
import { unlinkDocuments } from './purchase-order-ledger.js';

/**
 * Documents are written in batches (one COPY each for documents, deliveries and timeline); a large
 * interchange holds only one batch in memory (about a megabyte of canonical JSON). Encoding a batch
 * is event-loop work: it is kept to what is encoded in a few tens of milliseconds.
 */
export const WRITE_BATCH = 1000;

interface PendingDoc {
  id: string;
  doc: ReadyDocument;
  /** Stored, not delivered: a duplicate interchange's document. */
  duplicate: boolean;
}

/** Writes a streamed message's documents in batches, on the transaction that claimed the message. */
export class DocumentWriter {
  private pending: PendingDoc[] = [];
  /** The first document numbers added, for the message's log line. */
  readonly numbers: string[] = [];
  /** The batch being written, if any. */
  private writing: Promise<void> | undefined;
  constructor(
    private readonly trx: Knex.Transaction,
    private readonly partner: PartnerProfile,
    private readonly row: ClaimedMessage,
  ) {}

  /** Queues a document; returns its id. A type the sender holds no write scope for is rejected (GW_AUTH_SCOPE). */
  add(doc: ReadyDocument, duplicate = false): string {
    const id = randomUUID();
    this.pending.push({ id, doc: withinScope(this.row, doc), duplicate });
    const number = doc.keys.documentNumber;
    if (number && this.numbers.length < NUMBERS_LOGGED && !this.numbers.includes(number)) this.numbers.push(number);
    return id;
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * Starts writing the queued documents once the batch before them is stored, and returns without
   * waiting for them: the next batch is interpreted and queued while the database stores this one.
   * A failed write is thrown by the next `write` or `flush`.
   */
  async write(): Promise<void> {
    await this.writing;
    const batch = this.pending;
    this.pending = [];
    const writing = batch.length ? this.store(batch) : undefined;
    // Awaited by the next write, flush or settled; never left unhandled meanwhile.
    writing?.catch(() => undefined);
    this.writing = writing;
  }

  /** Writes every queued document and waits until all are stored. */
  async flush(): Promise<void> {
    await this.write();
    await this.writing;
    this.writing = undefined;
  }

  /**
   * Waits for the batch being written, whatever its outcome. Before a failure rolls the message
   * back, so that no statement of the batch runs after the rollback.
   */
  async settled(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  /** One COPY each for the documents, their deliveries and their timeline (the connection runs them in order). */
  private async store(batch: readonly PendingDoc[]): Promise<void> {
    const written = batch.map(({ id, doc, duplicate }) => documentRecords(this.partner, this.row, id, doc, duplicate));
    await copyDocuments(
      this.trx,
      written.map((r) => r.document),
    );
    const records = await linkToPurchaseOrders(this.trx, this.partner, written);
    await queueDocumentDeliveries(
      this.trx,
      records.flatMap((r) => r.deliveries),
    );
    await recordEvents(
      this.trx,
      records.flatMap((r) => r.events),
    );
  }

  /**
   * Takes back the documents of sequence numbers `from`…`to` accepted earlier in this transaction
   * (their group or interchange failed afterwards): rejected, their deliveries removed.
   */
  async reject(from: number, to: number, problems: Problem[], why: string): Promise<void> {
    await this.flush();
    const { trx, row } = this;
    if (to < from) return;
    const changed = await rejectDocuments(trx, row.id, from, to, problems);
    if (changed.length === 0) return;
    await unlinkDocuments(trx, changed);
    await dropHolds(trx, changed);
    await dropDocumentDeliveries(trx, row.id, trx('documents').select('id').where('message_id', row.id).whereBetween('seq', [from, to]));
    await recordEvents(
      trx,
      changed.map((id) => ({ message_id: row.id, document_id: id, type: 'document.rejected', code: problems[0]?.code ?? null, detail: why })),
    );
  }
}
