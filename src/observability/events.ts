import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { COPY_FROM_ROWS, copyRows } from '../store/copy.js';

/**
 * The timeline: every step the gateway takes with a message, a document, a delivery or a partner
 * leaves one row in the `events` table. Every event type is declared here once, with what it means
 * and which fields it carries; docs/events.md lists them all and test/unit/events.test.ts keeps the
 * two in step (and fails when src/ writes a type that is not declared here). This module owns the
 * table: rows are written through `recordEvents` and read through `timelineOf`.
 */

/** The columns an event may set besides `type` and `detail` (which every event sets). */
type Column = 'message_id' | 'document_id' | 'delivery_id' | 'partner_id' | 'code';

/** A column, or `data.<key>` for a key of the event's `data` object. */
type Field = Column | `data.${string}`;

interface EventSpec {
  /** What happened, in a sentence or two: docs/events.md shows it as written here. */
  meaning: string;
  /** The fields the event always sets. */
  carries: readonly Field[];
  /** The fields it sets only in some of the cases its meaning names. */
  sometimes?: readonly Field[];
  /** No longer written (what replaced it); it stays here, and documented, for the timelines that hold it. */
  retired?: string;
}

/** The catalogue. A type written without an entry here, or an entry not in docs/events.md, fails a test. */
export const EVENTS = {
  // Inbound messages
  received: {
    meaning: 'A message arrived at a door and its raw bytes are stored; the detail names its size, channel, content type and file name.',
    carries: ['message_id', 'data.sha256'],
  },
  interpreted: {
    meaning: "The message's bytes were read: how many interchanges and documents, duplicate interchanges, reconciled acknowledgments and envelope problems.",
    carries: ['message_id'],
  },
  rejected: {
    meaning: 'A problem with the envelope or the whole payload (not with one document); one event per problem.',
    carries: ['message_id', 'code', 'data.location'],
  },
  failed: {
    meaning: 'Processing stopped unexpectedly, or the partner is no longer configured; the raw bytes are kept for a replay.',
    carries: ['message_id', 'code'],
  },
  duplicate: {
    meaning:
      "An X12 interchange repeats one received before (same sender and ISA13 within the partner's window); it is answered per the duplicate " +
      'policy and not delivered again.',
    carries: ['message_id', 'code', 'data.originalMessageId'],
  },
  replayed: {
    meaning: 'Operations replayed the message: interpreted again from its raw bytes, or its dead deliveries queued again.',
    carries: ['message_id'],
  },
  redelivered: {
    meaning: "Operations sent the message's documents again to their targets: new deliveries, each with a key derived from the one it sends again.",
    carries: ['message_id'],
  },

  // Documents and routes
  'document.accepted': {
    meaning: 'A document was mapped and validated into a canonical document; the detail names the mapping profile and its version.',
    carries: ['message_id', 'document_id'],
  },
  'document.rejected': {
    meaning:
      "A document failed mapping or validation or lacked the sender's scope (one event per problem, with its location), or was taken back " +
      'because its functional group or interchange was rejected afterwards.',
    carries: ['message_id', 'document_id', 'code'],
    sometimes: ['data.location', 'data.sourceRef'],
  },
  'document.duplicate': {
    meaning: 'A document of a duplicate interchange: stored, not delivered.',
    carries: ['message_id', 'document_id', 'code'],
  },
  unrouted: {
    meaning: 'An accepted document matches no route of its partner: stored, delivered nowhere.',
    carries: ['message_id', 'document_id'],
  },
  routed: {
    meaning: "A delivery of an accepted document to a route's target was written to the outbox.",
    carries: ['message_id', 'document_id', 'delivery_id'],
  },

  // Purchase orders and tolerance exceptions (decision 0036, docs/business.md)
  'document.held': {
    meaning: 'A document broke a tolerance rule whose action is hold: it is stored and not delivered until a person releases or rejects it.',
    carries: ['message_id', 'document_id', 'data.exceptions'],
  },
  'document.released': {
    meaning: 'A person released a held document: its deliveries are queued now (the detail names who).',
    carries: ['message_id', 'document_id', 'data.by'],
    sometimes: ['data.note'],
  },
  'document.hold-rejected': {
    meaning: 'A person rejected a held document: it is never delivered (final; the detail names who and why).',
    carries: ['message_id', 'document_id', 'data.by'],
    sometimes: ['data.note'],
  },
  'exception.raised': {
    meaning: "A document is outside one of its partner's tolerances: an exception with the rule, the facts, the document and the PO.",
    carries: ['partner_id', 'message_id', 'document_id', 'data.exceptionId', 'data.rule', 'data.action', 'data.facts'],
    sometimes: ['data.poNumber'],
  },
  'exception.assigned': {
    meaning: 'An exception was assigned to a person.',
    carries: ['partner_id', 'message_id', 'document_id', 'data.exceptionId', 'data.assignee', 'data.by'],
  },
  'exception.resolved': {
    meaning: 'An exception was closed: resolved (with a note) or waived; the data names who.',
    carries: ['partner_id', 'message_id', 'document_id', 'data.exceptionId', 'data.rule', 'data.state', 'data.by'],
    sometimes: ['data.note'],
  },
  'po.status-changed': {
    meaning:
      'A purchase order moved on its timeline (ordered → acknowledged → partially-shipped → shipped → invoiced): sent or registered, ' +
      'or a po-ack, ship notice or invoice naming it was accepted.',
    carries: ['partner_id', 'data.poNumber', 'data.from', 'data.to'],
    sometimes: ['message_id', 'document_id'],
  },

  // Deliveries
  delivered: {
    meaning:
      "A delivery succeeded: a document to the ERP, an AS2 send (with its MDN, when one was asked for), a push to the partner's SFTP server, " +
      'an asynchronous MDN we owed, or an event to a subscriber; the detail names the attempt, the target and its answer. Deliveries of ' +
      'documents carry the document; an event about no message is on its partner (or on neither).',
    carries: ['delivery_id'],
    sometimes: ['message_id', 'document_id', 'partner_id'],
  },
  'delivery.failed': {
    meaning: 'A delivery attempt failed; the delivery is tried again after a backoff.',
    carries: ['delivery_id', 'code'],
    sometimes: ['message_id', 'document_id', 'partner_id'],
  },
  'delivery.dead': {
    meaning: "A delivery's last attempt failed (not retryable, attempts exhausted or maximum age reached); it waits for a replay.",
    carries: ['delivery_id', 'code'],
    sometimes: ['message_id', 'document_id', 'partner_id'],
  },
  'delivery.waiting': {
    meaning: "An AS2 send was posted; the delivery waits for the partner's asynchronous MDN.",
    carries: ['message_id', 'delivery_id'],
  },
  'target.paused': {
    meaning: 'A target failed too many times in a row; its deliveries wait a cool-down, then one delivery probes it.',
    carries: ['delivery_id', 'code'],
    sometimes: ['message_id', 'document_id', 'partner_id'],
  },
  'target.resumed': {
    meaning: 'A paused target answered again; its waiting deliveries are sent now.',
    carries: ['delivery_id'],
    sometimes: ['message_id', 'document_id', 'partner_id'],
  },

  // X12 acknowledgments
  'ack.generated': {
    meaning: "A TA1, 997 or 999 answering an inbound interchange was put in the partner's mailbox.",
    carries: ['message_id', 'data.ackMessageId', 'data.fileName'],
  },
  'ack.received': {
    meaning: "On a message we sent: the partner's 997 or 999 says what became of the group; the code is its status (A, E, P or R).",
    carries: ['message_id', 'code', 'data.inboundMessageId', 'data.sets'],
  },
  'ta1.received': {
    meaning: "On a message we sent: the partner's TA1 about the interchange; the code is its TA104 (A, E or R).",
    carries: ['message_id', 'code', 'data.inboundMessageId'],
  },
  'ack.reconciled': {
    meaning: 'On an inbound acknowledgment (997, 999 or TA1): it was matched to the message we sent.',
    carries: ['message_id', 'data.outboundMessageId'],
  },
  'ack.unmatched': {
    meaning: 'On an inbound acknowledgment (997, 999 or TA1): it matches nothing we sent to this partner.',
    carries: ['message_id'],
  },
  'ack.overdue': {
    meaning: 'On a message we sent: no 997 or 999 came back within the expected window.',
    carries: ['message_id', 'code'],
  },

  // Outbound documents
  'outbound.ready': {
    meaning: "An outbound document (a rendered purchase order, an acknowledgment) was stored in the partner's mailbox.",
    carries: ['message_id'],
  },
  'outbound.queued': {
    meaning: 'An outbound document was queued for a push to the partner, over AS2 or to its SFTP server.',
    carries: ['message_id', 'delivery_id'],
  },
  'outbound.collected': {
    meaning: 'The partner took the document out of its mailbox (over REST or by deleting it from its SFTP outbound folder).',
    carries: ['message_id'],
  },
  'outbound.delivered': {
    meaning: "The document was written to the partner's SFTP server.",
    carries: ['message_id'],
    retired: 'a push is a delivery now, and `delivered` says it succeeded.',
  },
  'outbound.transfer-failed': {
    meaning: 'A push to the partner (an AS2 post or an SFTP write) failed; it is tried again after a backoff.',
    carries: ['message_id', 'code'],
    retired: 'a push is a delivery now, and `delivery.failed` says an attempt failed.',
  },

  // AS2
  'as2.received': {
    meaning: 'An AS2 message was accepted: decrypted, its signature verified, its MIC computed; the detail names the MDN mode.',
    carries: ['message_id'],
  },
  'as2.refused': {
    meaning: 'An AS2 message was refused (decryption, signature, agreement); its MDN tells the partner why, and nothing is interpreted.',
    carries: ['message_id', 'code'],
  },
  'as2.mdn-url-refused': {
    meaning: 'The asynchronous MDN address the partner asked for is not one of its allowed addresses; the MDN was returned synchronously.',
    carries: ['message_id', 'code'],
  },
  'as2.duplicate': {
    meaning: "An AS2 Message-ID was received again; answered with the first copy's MDN or a new one, nothing delivered again.",
    carries: ['message_id'],
  },
  'as2.sent': {
    meaning: 'We posted an AS2 message to the partner; the detail names the attempt, the HTTP status, the protection, the MIC and the MDN mode.',
    carries: ['message_id', 'delivery_id'],
  },
  'as2.send-failed': {
    meaning: 'Our AS2 send gave up after its last attempt.',
    carries: ['message_id', 'code'],
    retired: 'an AS2 send is a delivery now, and `delivery.dead` says it gave up.',
  },
  'as2.mdn-processed': {
    meaning: "The partner's MDN for our message says processed, and its MIC matches ours.",
    carries: ['message_id', 'delivery_id'],
  },
  'as2.mdn-mic-invalid': {
    meaning: "The partner's MDN for our message carries a MIC other than ours.",
    carries: ['message_id', 'delivery_id', 'code'],
  },
  'as2.mdn-failed': {
    meaning:
      "The partner's MDN for our message is negative, answers another message, is unsigned though a signed one was asked for, lacks the MIC, " +
      'or cannot be read or verified. (Timelines from before the outbox also hold it for an asynchronous MDN we owed and gave up posting.)',
    carries: ['message_id', 'code'],
    sometimes: ['delivery_id'],
  },
  'as2.mdn-sent': {
    meaning:
      'On a message we sent without asking for an MDN: the send is complete. On a message the partner sent: the asynchronous MDN we owe ' + 'was posted.',
    carries: ['message_id', 'delivery_id'],
  },
  'as2.mdn-retry': {
    meaning: 'The asynchronous MDN we owe the partner could not be posted; it is tried again after a backoff.',
    carries: ['message_id', 'code'],
    retired: 'an MDN we owe is a delivery now, and `delivery.failed` says an attempt failed.',
  },
  'as2.mdn-refused': {
    meaning: 'On the partner: an asynchronous MDN it posted to us could not be read or verified.',
    carries: ['partner_id', 'code'],
  },
  'as2.mdn-unmatched': {
    meaning: 'On the partner: an asynchronous MDN it posted to us matches no message waiting for one.',
    carries: ['partner_id', 'code'],
  },

  // The partner's SFTP server
  'sftp.pickup-skipped': {
    meaning: 'On the partner: a file on its SFTP server is over the size limit and was left there.',
    carries: ['partner_id', 'code'],
  },
  'sftp.pickup-failed': {
    meaning: 'On the partner: picking up files from its SFTP server failed; the next poll tries again.',
    carries: ['partner_id', 'code'],
  },
  'sftp.host-key-mismatch': {
    meaning:
      "The partner's SFTP server presented a host key that is not pinned, so the connection was refused: on the partner for a pickup, " +
      'on the message and its delivery for a push.',
    carries: ['code'],
    sometimes: ['partner_id', 'message_id', 'delivery_id'],
  },
} as const satisfies Record<string, EventSpec>;

/** The name of a timeline event: a key of the catalogue (retired ones included: timelines may hold them). */
export type EventType = keyof typeof EVENTS;

/** The types written today: the catalogue without its retired entries. */
export type CurrentEventType = { [T in EventType]: (typeof EVENTS)[T] extends { retired: string } ? never : T }[EventType];

type Spec<T extends EventType> = (typeof EVENTS)[T];
type Always<T extends EventType> = Spec<T>['carries'][number];
type Sometimes<T extends EventType> = Spec<T> extends { sometimes: readonly (infer F)[] } ? F : never;
type DataKey<F> = F extends `data.${infer K}` ? K : never;

interface ColumnValues {
  message_id: string;
  document_id: string;
  delivery_id: string;
  partner_id: string;
  /** A stable error code (src/errors.ts), or the status an acknowledgment reports. */
  code: string | null;
}

/** `data` as the catalogue declares it: required when the event always carries a key, absent when it carries none. */
type DataOf<A extends string, S extends string> = [A] extends [never]
  ? [S] extends [never]
    ? { data?: never }
    : { data?: { [K in S]?: unknown } }
  : { data: { [K in A]: unknown } & { [K in S]?: unknown } };

type EventOf<T extends EventType> = { type: T; detail: string } & Pick<ColumnValues, Always<T> & Column> &
  Partial<Pick<ColumnValues, Sometimes<T> & Column>> & { [C in Exclude<Column, Always<T> | Sometimes<T>>]?: never } & DataOf<
    DataKey<Always<T>>,
    DataKey<Sometimes<T>>
  >;

/**
 * One timeline event as it is written: a current type, a sentence for people (`detail`), and exactly
 * the fields its catalogue entry says it carries (the compiler refuses others, and missing ones).
 */
export type TimelineEvent = { [T in CurrentEventType]: EventOf<T> }[CurrentEventType];

/**
 * Rows per INSERT: a large interchange yields many thousands of events, and building one INSERT is
 * event-loop work (and PostgreSQL takes at most 65,535 bind parameters per statement).
 */
const INSERT_BATCH = 500;

const COPIED_COLUMNS = ['message_id', 'document_id', 'delivery_id', 'partner_id', 'type', 'code', 'detail', 'data'] as const;

/** Writes `events` to the timeline, in the caller's transaction when `db` is one. */
export async function recordEvents(db: Knex | Knex.Transaction, events: readonly TimelineEvent[]): Promise<void> {
  if (db.isTransaction && events.length >= COPY_FROM_ROWS) return copyEvents(db as Knex.Transaction, events);
  for (let i = 0; i < events.length; i += INSERT_BATCH) {
    await db('events').insert(
      events.slice(i, i + INSERT_BATCH).map(({ data, ...columns }) => ({ ...columns, ...(data ? { data: JSON.stringify(data) } : {}) })),
    );
  }
}

/** Rows per COPY: what is encoded at once (event-loop time, memory) stays bounded for the largest rejection. */
const COPY_BATCH = 5000;

/** The same rows as recordEvents' INSERTs, in the same order (their ids say it), with COPY. */
async function copyEvents(trx: Knex.Transaction, events: readonly TimelineEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += COPY_BATCH) {
    await copyRows(
      trx,
      `COPY events (${COPIED_COLUMNS.join(', ')}) FROM STDIN`,
      events.slice(i, i + COPY_BATCH).map((event) => {
        const row: Record<string, unknown> = event;
        return COPIED_COLUMNS.map((c) => (c === 'data' ? (event.data ? JSON.stringify(event.data) : null) : (row[c] as string | null | undefined)));
      }),
    );
  }
}

/**
 * Runs `insert` (an INSERT … RETURNING id of messages) and writes the events of the rows it stored,
 * in one statement: one round trip, atomic without a transaction around it. An event whose message
 * the insert skipped (ON CONFLICT DO NOTHING) is not written. Returns the ids stored.
 */
export async function insertWithEvents(db: Knex, insert: Knex.QueryBuilder, events: readonly TimelineEvent[]): Promise<Set<string>> {
  const { sql, bindings } = insert.toSQL();
  const statement = `WITH stored AS (${sql}),
          logged AS (INSERT INTO events (message_id, type, code, detail, data)
                     SELECT e.message_id, e.type, e.code, e.detail, e.data
                       FROM jsonb_populate_recordset(NULL::events, ?::jsonb) e JOIN stored ON stored.id = e.message_id)
     SELECT id FROM stored`;
  // Named, so that each connection parses and plans it once (a good part of its cost for one row).
  const { rows } = await db
    .raw<{ rows: { id: string }[] }>(statement, [...bindings, JSON.stringify(events)])
    .options({ name: `gw_${createHash('sha1').update(statement).digest('hex').slice(0, 24)}` });
  return new Set(rows.map((r) => r.id));
}

/** One entry of a message's timeline, oldest first, as the status page shows it. */
export interface TimelineRow {
  type: EventType;
  code: string | null;
  detail: string;
  data: Record<string, unknown> | null;
  document_id: string | null;
  delivery_id: string | null;
  at: Date;
}

/** The timeline of one message, in the order it happened. */
export function timelineOf(db: Knex | Knex.Transaction, messageId: string): Promise<TimelineRow[]> {
  return db('events').select('type', 'code', 'detail', 'data', 'document_id', 'delivery_id', 'at').where('message_id', messageId).orderBy('id');
}
