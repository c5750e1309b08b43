import type { Knex } from 'knex';

/** A message linked to another, and how. */
export interface RelatedMessage {
  id: string;
  /** In words: "acknowledgment sent for it", "the message it answers", "names PO 4500012345"… */
  relation: string;
  direction: string;
  type: string | null;
  state: string;
  receivedAt: Date;
}

/** At most this many messages per PO number: a long-running order's story is found by searching its number. */
const PER_PO = 20;

/**
 * What the database links a message to (decision 0030): acknowledgments we sent for it and the
 * message an acknowledgment of ours answers (`related_message_id`); the partner's 997/999/TA1 about
 * a message we sent, and the message an inbound acknowledgment was matched to (the `ack.received`,
 * `ta1.received` and `ack.reconciled` events); and the same partner's other messages whose documents
 * name one of its purchase-order numbers (the order, its acknowledgment, ship notices, invoices).
 */
export async function relatedMessages(knex: Knex, id: string): Promise<RelatedMessage[]> {
  const { rows } = await knex.raw<{ rows: (Omit<RelatedMessage, 'receivedAt'> & { received_at: Date; doc_type: string | null })[] }>(
    `WITH links AS (
       SELECT a.id, 'acknowledgment sent for it' AS relation FROM messages a WHERE a.related_message_id = :id
       UNION ALL SELECT m.related_message_id, 'the message it answers' FROM messages m WHERE m.id = :id AND m.related_message_id IS NOT NULL
       UNION ALL SELECT (e.data->>'inboundMessageId')::uuid, 'acknowledgment received for it'
         FROM events e WHERE e.message_id = :id AND e.type IN ('ack.received', 'ta1.received') AND e.data->>'inboundMessageId' IS NOT NULL
       UNION ALL SELECT (e.data->>'outboundMessageId')::uuid, 'the message it acknowledges'
         FROM events e WHERE e.message_id = :id AND e.type = 'ack.reconciled' AND e.data->>'outboundMessageId' IS NOT NULL
       UNION ALL SELECT x.message_id, 'names PO ' || x.po FROM (
         SELECT o.message_id, po, row_number() OVER (PARTITION BY po ORDER BY o.message_id) AS n
           FROM (SELECT DISTINCT unnest(po_numbers) AS po FROM documents WHERE message_id = :id) mine
           JOIN documents o ON o.po_numbers @> ARRAY[mine.po] AND o.message_id <> :id
           JOIN messages om ON om.id = o.message_id AND om.partner_id = (SELECT partner_id FROM messages WHERE id = :id)) x
         WHERE x.n <= ${PER_PO}
     )
     SELECT DISTINCT ON (m.id, l.relation) m.id, l.relation, m.direction, coalesce(m.doc_type, d.type) AS doc_type, m.state, m.received_at
       FROM links l JOIN messages m ON m.id = l.id
       LEFT JOIN LATERAL (SELECT type FROM documents WHERE message_id = m.id ORDER BY seq LIMIT 1) d ON true
      ORDER BY m.id, l.relation`,
    { id },
  );
  return rows
    .map((r) => ({ id: r.id, relation: r.relation, direction: r.direction, type: r.doc_type, state: r.state, receivedAt: r.received_at }))
    .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
}
