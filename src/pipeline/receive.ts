import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { GatewayError, isGatewayError } from '../errors.js';
import { insertWithEvents, recordEvents, type TimelineEvent } from '../observability/events.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { MessageChannel, SourceFormat } from '../types.js';
import { insertChunkedMessage, insertMessage, insertMessagesStatement } from './messages.js';

export interface Inbound {
  partnerId: string;
  channel: MessageChannel;
  contentType: string;
  format: SourceFormat;
  bytes: Buffer;
  correlationId?: string;
  idempotencyKey?: string;
  /** The file name, for doors that carry one (SFTP). */
  fileName?: string;
  /** The scopes the sender held; every document in the message must be of a type they allow. */
  scopes?: readonly string[];
}

/** An upload whose bytes were staged in `message_chunks` as they arrived (src/pipeline/raw-store.ts). */
export interface StagedInbound extends Omit<Inbound, 'bytes' | 'idempotencyKey'> {
  /** The id the chunks are staged under; the message takes it, and the chunks become its bytes. */
  uploadId: string;
  sizeBytes: number;
  sha256: string;
  /** Removes the staged upload, in the transaction that commits the message (the door owns its staging). */
  consumed: (trx: Knex.Transaction) => Promise<void>;
}

export interface Receipt {
  messageId: string;
  correlationId: string;
  /** True when the Idempotency-Key matched an earlier message: nothing new was stored. */
  duplicate: boolean;
}

/** What the `received` event says of a stored message row. */
type ReceivedRow = Pick<MessageRow, 'size_bytes' | 'channel' | 'content_type' | 'file_name' | 'sha256'> & { id: string };

function receivedEvent(r: ReceivedRow): TimelineEvent {
  return {
    message_id: r.id,
    type: 'received',
    detail: `${r.size_bytes} bytes over ${r.channel} (${r.content_type})${r.file_name ? ` as ${r.file_name}` : ''}`,
    data: { sha256: r.sha256 },
  };
}

type MessageRow = ReturnType<typeof messageRow>;

/** The messages row of an inbound message (a new id; the correlation id defaults to it). */
function messageRow(inbound: Omit<Inbound, 'format'> & { format: string }, id: string = randomUUID()) {
  return {
    id,
    partner_id: inbound.partnerId,
    channel: inbound.channel,
    content_type: inbound.contentType,
    format: inbound.format,
    raw: inbound.bytes,
    size_bytes: inbound.bytes.length,
    sha256: createHash('sha256').update(inbound.bytes).digest('hex'),
    correlation_id: inbound.correlationId ?? id,
    idempotency_key: inbound.idempotencyKey ?? null,
    file_name: inbound.fileName ?? null,
    scopes: inbound.scopes ? [...inbound.scopes] : null,
  };
}

export interface ReceiverOptions {
  maxBatch: number;
  maxWaitMs: number;
  onCommitted?: () => void;
  /** Where the one info line per message received (or repeated at the door) goes. */
  log?: Logger;
  metrics?: GatewayMetrics;
}

/** What the line and the counters of a stored message say of it: never its bytes. */
type Reported = Pick<MessageRow, 'partner_id' | 'channel' | 'format' | 'correlation_id' | 'size_bytes' | 'file_name'> & { id: string; state?: string };

interface Pending {
  row: MessageRow;
  resolve: (r: Receipt) => void;
  reject: (e: unknown) => void;
}

/**
 * Stores raw messages durably, grouping concurrent submissions into one transaction (up to
 * `maxBatch` messages or `maxWaitMs`). A promise resolves only after its row is committed; if the
 * commit fails every waiter gets GW_STORE_UNAVAILABLE, so no partner is told "accepted" falsely.
 * While no commit is under way a submission is committed at once, with whatever arrived in the
 * same turn of the event loop: waiting `maxWaitMs` for company only delays a sender that is alone
 * (an SFTP client waits for each file's close before it sends the next).
 * @see docs/decisions/0002-group-commit-and-outbox.md
 * @see docs/decisions/0019-sftp-bytes-once.md
 */
export class Receiver {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private flushing = 0;

  constructor(
    private readonly knex: Knex,
    private readonly opts: ReceiverOptions = { maxBatch: 100, maxWaitMs: 2 },
  ) {}

  /** Counts a stored message and logs it, once its commit is done. */
  private received(row: Reported): void {
    const labels = { partnerId: row.partner_id, channel: row.channel, format: row.format };
    this.opts.metrics?.messageReceived(labels);
    const rejected = row.state === 'rejected';
    if (rejected) this.opts.metrics?.messageRejected(labels);
    this.opts.log?.info(
      {
        partner: row.partner_id,
        messageId: row.id,
        correlationId: row.correlation_id,
        channel: row.channel,
        format: row.format,
        bytes: row.size_bytes,
        ...(row.file_name ? { fileName: row.file_name } : {}),
      },
      rejected ? 'message received and rejected at the door' : 'message received',
    );
  }

  /** A repeat the door recognised (same Idempotency-Key, same bytes): answered with the earlier message. */
  private duplicate(row: MessageRow, earlier: { id: string; correlation_id: string }): void {
    this.opts.metrics?.messageDuplicate({ partnerId: row.partner_id, channel: row.channel, format: row.format }, 'door');
    this.opts.log?.info(
      { partner: row.partner_id, messageId: earlier.id, correlationId: earlier.correlation_id, channel: row.channel, idempotencyKey: row.idempotency_key },
      'message duplicate: the Idempotency-Key was used before with the same bytes; answered with the earlier message',
    );
  }

  receive(inbound: Inbound): Promise<Receipt> {
    const row = messageRow(inbound);
    return new Promise<Receipt>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else if (this.flushing === 0) this.soon ??= setImmediate(() => this.flush());
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearImmediate(this.soon);
    this.timer = undefined;
    this.soon = undefined;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    if (batch.length === 0) return;
    this.flushing++;
    this.commit(batch)
      .catch((err) => {
        const e = new GatewayError('GW_STORE_UNAVAILABLE', 'The message store could not commit the message; nothing was accepted. Retry later.', {
          cause: err,
        });
        for (const p of batch) p.reject(e);
      })
      .finally(() => {
        this.flushing--;
        if (this.queue.length) this.flush();
      });
  }

  private async commit(batch: Pending[]): Promise<void> {
    // One statement (the rows and their `received` events): one round trip, no BEGIN and COMMIT.
    const rows = batch.map((p) => p.row);
    const inserted = await insertWithEvents(this.knex, insertMessagesStatement(this.knex, rows), rows.map(receivedEvent));
    // Rows skipped by the Idempotency-Key constraint: answer with the message stored earlier.
    const skipped = batch.filter((p) => !inserted.has(p.row.id));
    const earlier = skipped.length
      ? await this.knex('messages')
          .select('id', 'partner_id', 'idempotency_key', 'sha256', 'correlation_id')
          .whereIn(['partner_id', 'idempotency_key'], skipped.map((p) => [p.row.partner_id, p.row.idempotency_key]) as [string, string][])
      : [];
    for (const p of batch) {
      if (inserted.has(p.row.id)) {
        this.received(p.row);
        p.resolve({ messageId: p.row.id, correlationId: p.row.correlation_id, duplicate: false });
        continue;
      }
      const first = earlier.find((e) => e.partner_id === p.row.partner_id && e.idempotency_key === p.row.idempotency_key);
      if (!first) p.reject(new Error('idempotent insert skipped without an earlier row'));
      else if (first.sha256 !== p.row.sha256)
        p.reject(
          new GatewayError(
            'GW_IDEMPOTENCY_CONFLICT',
            `Idempotency-Key "${p.row.idempotency_key}" was used before for message ${first.id} with a different payload. Use a new key for new content.`,
          ),
        );
      else {
        this.duplicate(p.row, first);
        p.resolve({ messageId: first.id, correlationId: first.correlation_id, duplicate: true });
      }
    }
    if (inserted.size) this.opts.onCommitted?.();
  }

  /**
   * Commits a staged upload as a message: its staged chunks become the message's bytes, untouched
   * (nothing is copied), once they add up to every byte written. Throws GW_STORE_UNAVAILABLE when
   * the commit fails (the upload's chunks stay for a retry or are swept).
   */
  async receiveStaged(inbound: StagedInbound): Promise<Receipt> {
    const id = inbound.uploadId;
    const row = {
      id,
      partner_id: inbound.partnerId,
      channel: inbound.channel,
      content_type: inbound.contentType,
      format: inbound.format,
      size_bytes: inbound.sizeBytes,
      sha256: inbound.sha256,
      correlation_id: inbound.correlationId ?? id,
      file_name: inbound.fileName ?? null,
      scopes: inbound.scopes ? [...inbound.scopes] : null,
    };
    try {
      await this.knex.transaction(async (trx) => {
        const complete = await insertChunkedMessage(trx, row);
        if (!complete) throw new Error(`staged upload ${inbound.uploadId} does not hold the ${inbound.sizeBytes} bytes written`);
        await inbound.consumed(trx);
        await recordEvents(trx, [receivedEvent(row)]);
      });
    } catch (err) {
      throw new GatewayError('GW_STORE_UNAVAILABLE', 'The message store could not commit the file; nothing was accepted. Upload it again.', { cause: err });
    }
    this.received(row);
    this.opts.onCommitted?.();
    return { messageId: id, correlationId: row.correlation_id, duplicate: false };
  }

  /**
   * Stores one message and what its door records with it in one transaction, outside the batches:
   * AS2 keeps the signed original and the MDN it answers with beside the payload, so either both
   * are committed or neither is. `state: 'rejected'` keeps a refused message visible without
   * interpreting it.
   */
  async receiveWith(
    inbound: Omit<Inbound, 'format'> & {
      format: Inbound['format'] | 'as2';
      state?: 'received' | 'rejected';
      problems?: unknown[];
      /** The id the door gave the message ahead of storing it, when its answer names it (AS2's MDN). */
      id?: string;
    },
    extra: (trx: Knex.Transaction, messageId: string) => Promise<void>,
  ): Promise<Receipt> {
    const { id, ...rest } = inbound;
    const row = {
      ...messageRow(rest, id),
      state: inbound.state ?? 'received',
      problems: JSON.stringify(inbound.problems ?? []),
      ...(rest.state === 'rejected' ? { processed_at: this.knex.fn.now() } : {}),
    };
    try {
      await this.knex.transaction(async (trx) => {
        await insertMessage(trx, row);
        await recordEvents(trx, [receivedEvent(row)]);
        await extra(trx, row.id);
      });
    } catch (err) {
      if (isGatewayError(err) || (err as { code?: string }).code === '23505') throw err;
      throw new GatewayError('GW_STORE_UNAVAILABLE', 'The message store could not commit the message; nothing was accepted. Retry later.', { cause: err });
    }
    this.received(row);
    if (row.state === 'received') this.opts.onCommitted?.();
    return { messageId: row.id, correlationId: row.correlation_id, duplicate: false };
  }

  /** Waits until every submitted message has been committed or refused. */
  async drain(): Promise<void> {
    while (this.queue.length || this.flushing) {
      if (this.queue.length && !this.flushing) this.flush();
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
