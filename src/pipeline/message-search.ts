import type { Knex } from 'knex';
import { CURRENT_DELIVERY } from '../delivery/outbox.js';
import { GatewayError } from '../errors.js';

/**
 * What operators look messages up by (decision 0024): the partner, channel, type, state and
 * direction, a window of reception, and any business key a person has at hand (a PO number, a
 * shipment or invoice number, an interchange control number, an AS2 Message-ID, a file name, a
 * correlation id or an idempotency key). Pages are keyset pages, newest first, by (received_at, id).
 */
export interface MessageFilter {
  partner?: string;
  channel?: string;
  /** The message's own type (outbound: 850, 997…) or the type of one of its documents (asn, invoice…). */
  type?: string;
  state?: string;
  direction?: string;
  receivedFrom?: Date;
  receivedTo?: Date;
  poNumber?: string;
  /** documents.document_number: a shipment id, an invoice number… */
  documentNumber?: string;
  interchangeControl?: string;
  as2MessageId?: string;
  fileName?: string;
  correlationId?: string;
  /** The message's (what the partner sent) or one of its deliveries' (what the ERP received). */
  idempotencyKey?: string;
}

/** Where the previous page ended: received_at in microseconds since 1970 (PostgreSQL's precision) and the id. */
export interface Cursor {
  atMicros: string;
  id: string;
}

export const SEARCH_LIMIT_MAX = 200;

/** The opaque text a client passes back to get the next page. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.atMicros}.${c.id}`).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const m = /^(\d{1,17})\.([0-9a-f-]{36})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) throw new GatewayError('GW_REQUEST_INVALID', 'cursor is not one this API gave out: pass the nextCursor of the previous page unchanged.');
  return { atMicros: m[1] as string, id: m[2] as string };
}

/** The `WHERE` of a search over `messages m`, with its named bindings; every key filter is a lookup by an index. */
function whereOf(f: MessageFilter): { sql: string[]; bindings: Record<string, unknown> } {
  const sql: string[] = [];
  const b: Record<string, unknown> = {};
  const add = (clause: string, name: string, value: unknown) => {
    if (value === undefined) return;
    sql.push(clause);
    b[name] = value;
  };
  add('m.partner_id = :partner', 'partner', f.partner);
  add('m.channel = :channel', 'channel', f.channel);
  add('m.state = :state', 'state', f.state);
  add('m.direction = :direction', 'direction', f.direction);
  add('m.received_at >= :receivedFrom', 'receivedFrom', f.receivedFrom);
  add('m.received_at < :receivedTo', 'receivedTo', f.receivedTo);
  add('(m.doc_type = :type OR EXISTS (SELECT 1 FROM documents d WHERE d.message_id = m.id AND d.type = :type))', 'type', f.type);
  add('m.id IN (SELECT message_id FROM documents WHERE po_numbers @> ARRAY[:poNumber]::text[])', 'poNumber', f.poNumber);
  add('m.id IN (SELECT message_id FROM documents WHERE document_number = :documentNumber)', 'documentNumber', f.documentNumber);
  add('m.file_name = :fileName', 'fileName', f.fileName);
  add('m.correlation_id = :correlationId', 'correlationId', f.correlationId);
  add(
    `m.id IN (SELECT id FROM messages WHERE idempotency_key = :idempotencyKey
              UNION ALL SELECT message_id FROM deliveries WHERE idempotency_key = :idempotencyKey)`,
    'idempotencyKey',
    f.idempotencyKey,
  );
  if (f.as2MessageId !== undefined) {
    const bare = f.as2MessageId.replace(/^<|>$/g, '');
    add('m.id IN (SELECT message_id FROM as2_messages WHERE as2_message_id IN (:as2Bare, :as2Bracketed))', 'as2Bare', bare);
    b.as2Bracketed = `<${bare}>`;
  }
  if (f.interchangeControl !== undefined) {
    // Inbound interchanges are kept as written (ISA13, 9 digits); outbound as a number without padding.
    const digits = /^\d{1,9}$/.test(f.interchangeControl) ? f.interchangeControl : undefined;
    add(
      // One id set, not an OR beside the subquery: an OR made PostgreSQL walk every message newest first.
      `m.id IN (SELECT message_id FROM x12_interchanges WHERE control IN (:icnAsWritten, :icnPadded)
                UNION ALL SELECT id FROM messages WHERE direction = 'outbound' AND x12_interchange = :icnNumber)`,
      'icnAsWritten',
      f.interchangeControl,
    );
    b.icnPadded = digits ? digits.padStart(9, '0') : f.interchangeControl;
    b.icnNumber = digits ? String(Number(digits)) : f.interchangeControl;
  }
  return { sql, bindings: b };
}

const MICROS = `(extract(epoch FROM m.received_at) * 1000000)::bigint::text`;
const AFTER_CURSOR = `(m.received_at, m.id) < (timestamptz 'epoch' + :cursorMicros::bigint * interval '1 microsecond', :cursorId::uuid)`;

/** The SQL of one page of a search: the messages' own columns, newest first; the caller adds what it shows. */
function pageSql(f: MessageFilter, limit: number, after: Cursor | undefined, columns: string): { sql: string; bindings: Record<string, unknown> } {
  const w = whereOf(f);
  if (after) {
    w.sql.push(AFTER_CURSOR);
    w.bindings.cursorMicros = after.atMicros;
    w.bindings.cursorId = after.id;
  }
  const where = w.sql.length ? `WHERE ${w.sql.join(' AND ')}` : '';
  return {
    sql: `SELECT ${columns}, ${MICROS} AS at_micros FROM messages m ${where} ORDER BY m.received_at DESC, m.id DESC LIMIT :limit`,
    bindings: { ...w.bindings, limit },
  };
}

/** The query plan of a search's first page (for the tests and for an operator wondering why one is slow). */
export async function explainSearch(knex: Knex, f: MessageFilter, limit = 50): Promise<string> {
  const q = pageSql(f, limit, undefined, 'm.id');
  const { rows } = await knex.raw<{ rows: { 'QUERY PLAN': string }[] }>(`EXPLAIN ${q.sql}`, q.bindings);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

const ROW_COLUMNS = `m.id, m.partner_id, m.channel, m.direction, m.doc_type, m.state, m.file_name, m.correlation_id,
  m.idempotency_key, m.received_at, m.ack_status, m.ack_due_at, m.problems, m.x12_interchange`;

/** One result row beside the message's columns: its documents' types, numbers and problems, its current deliveries (not those redelivered). */
const SUMMARY_SQL = `
  SELECT p.*,
    (SELECT coalesce(jsonb_agg(DISTINCT d.type) FILTER (WHERE d.type IS NOT NULL), '[]') FROM documents d WHERE d.message_id = p.id) AS doc_types,
    (SELECT coalesce(jsonb_agg(DISTINCT d.document_number) FILTER (WHERE d.document_number IS NOT NULL), '[]')
       FROM documents d WHERE d.message_id = p.id) AS document_numbers,
    (SELECT coalesce(jsonb_agg(DISTINCT po), '[]') FROM documents d, unnest(d.po_numbers) po WHERE d.message_id = p.id) AS po_numbers,
    (SELECT coalesce(jsonb_agg(DISTINCT x.code), '[]') FROM (
        SELECT e->>'code' AS code FROM jsonb_array_elements(p.problems) e
        UNION ALL SELECT e->>'code' FROM documents d, jsonb_array_elements(coalesce(d.problems, '[]')) e WHERE d.message_id = p.id
      ) x WHERE x.code IS NOT NULL) AS problem_codes,
    (SELECT coalesce(jsonb_object_agg(s.state, s.n), '{}') FROM (
        SELECT state, count(*) AS n FROM deliveries d WHERE d.message_id = p.id AND ${CURRENT_DELIVERY} GROUP BY state) s) AS delivery_states
  FROM page p ORDER BY p.received_at DESC, p.id DESC`;

export interface SearchPage {
  messages: ReturnType<typeof rowView>[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** One page of messages matching `f`, newest first, after `cursor`. */
export async function searchMessages(knex: Knex, f: MessageFilter, limit: number, cursor?: string): Promise<SearchPage> {
  const q = pageSql(f, limit, cursor === undefined ? undefined : decodeCursor(cursor), ROW_COLUMNS);
  const { rows } = await knex.raw<{ rows: Record<string, unknown>[] }>(`WITH page AS (${q.sql}) ${SUMMARY_SQL}`, q.bindings);
  const last = rows.at(-1);
  return {
    messages: rows.map(rowView),
    nextCursor: rows.length === limit && last ? encodeCursor({ atMicros: last.at_micros as string, id: last.id as string }) : null,
  };
}

/** The ids of up to `limit` messages matching `f`, newest first (a bulk action's selection). */
export async function matchingIds(knex: Knex, f: MessageFilter, limit: number): Promise<string[]> {
  const q = pageSql(f, limit, undefined, 'm.id');
  const { rows } = await knex.raw<{ rows: { id: string }[] }>(q.sql, q.bindings);
  return rows.map((r) => r.id);
}

function rowView(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    partner: r.partner_id as string,
    channel: r.channel as string,
    direction: r.direction as string,
    type: (r.doc_type as string | null) ?? ((r.doc_types as string[]).join(',') || null),
    documentTypes: r.doc_types as string[],
    state: r.state as string,
    documentNumbers: r.document_numbers as string[],
    purchaseOrderNumbers: r.po_numbers as string[],
    fileName: r.file_name as string | null,
    correlationId: r.correlation_id as string,
    idempotencyKey: r.idempotency_key as string | null,
    interchangeControl: r.x12_interchange as string | null,
    receivedAt: r.received_at as Date,
    acknowledgment: r.ack_status ? { status: r.ack_status as string, dueAt: r.ack_due_at as Date | null } : null,
    problemCodes: r.problem_codes as string[],
    deliveries: r.delivery_states as Record<string, number>,
  };
}
