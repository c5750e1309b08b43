import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { queuePush } from '../delivery/outbox.js';
import { recordEvents } from '../observability/events.js';
import type { FunctionalAck } from './interpret.js';
import type { PartnerProfile } from '../types.js';
import type { X12Segment } from '../formats/x12/reader.js';
import { insertMessage, markAcksOverdue, markCollected, setAckStatus } from './messages.js';
import { publishAcksOverdue } from './business-events.js';

/** Largest ISA13/GS06/ST02 we write; the counters wrap to 1 after it. */
const CONTROL_MAX = 999_999_999;

export type ControlKind = 'isa' | 'gs' | 'st';

/**
 * Reserves `count` consecutive control numbers for a partner, direction and kind, and returns the
 * first. The counter row is locked until the caller's transaction ends, so any number of gateway
 * processes on one database never hand out a number twice; a rolled-back transaction gives its
 * numbers back.
 * @see docs/decisions/0005-control-numbers-and-duplicates.md
 */
async function reserveControlNumbers(trx: Knex.Transaction, partnerId: string, direction: 'outbound', kind: ControlKind, count = 1): Promise<number> {
  const { rows } = await trx.raw<{ rows: { value: string }[] }>(
    `INSERT INTO control_numbers (partner_id, direction, kind, value) VALUES (?, ?, ?, ?)
     ON CONFLICT (partner_id, direction, kind) DO UPDATE
       SET value = CASE WHEN control_numbers.value + ? > ? THEN ? ELSE control_numbers.value + ? END
     RETURNING value`,
    [partnerId, direction, kind, count, count, CONTROL_MAX, count, count],
  );
  return Number(rows[0]?.value) - count + 1;
}

/** ISA13, GS06 and ST02 values for one outbound interchange, formatted as written. */
export interface EnvelopeControls {
  isa: string;
  gs: string[];
  st: string[];
}

/** Reserves the control numbers of one outbound interchange with `groups` groups and `sets` sets. */
export async function reserveEnvelopeControls(trx: Knex.Transaction, partnerId: string, groups: number, sets: number): Promise<EnvelopeControls> {
  const isa = await reserveControlNumbers(trx, partnerId, 'outbound', 'isa');
  const gs = groups ? await reserveControlNumbers(trx, partnerId, 'outbound', 'gs', groups) : 0;
  const st = sets ? await reserveControlNumbers(trx, partnerId, 'outbound', 'st', sets) : 0;
  return {
    isa: String(isa).padStart(9, '0'),
    gs: Array.from({ length: groups }, (_, i) => String(gs + i)),
    st: Array.from({ length: sets }, (_, i) => String(st + i).padStart(4, '0')),
  };
}

export interface OutboundMessage {
  /** The message id, when the document already carries it (a cXML payloadID); new otherwise. */
  id?: string;
  partner: PartnerProfile;
  docType: string;
  text: string;
  /** The inbound message an acknowledgment answers. */
  relatedMessageId?: string;
  correlationId?: string;
  /** The ERP's Idempotency-Key for what it asked us to send. */
  idempotencyKey?: string;
  /** X12 only: the interchange and group control numbers (absent for XML and JSON documents). */
  isaControl?: string;
  groupControl?: string;
  /** Default x12. */
  format?: 'x12' | 'edifact' | 'xml' | 'json';
  /** EDIFACT under UNOW/UNOY: the text is written as UTF-8 (else byte per character). */
  utf8?: boolean;
  /** For XML and JSON documents: the file name, already chosen. */
  fileName?: string;
  /** When set, the message waits for a functional acknowledgment until then. */
  ackDueAt?: Date;
}

function fileNameFor(partner: PartnerProfile, docType: string, control: string, id: string): string {
  return partner.x12.outbound.fileName.replaceAll('{type}', docType).replaceAll('{control}', control).replaceAll('{id}', id);
}

/** Places an outbound document in the partner's mailbox (same transaction as whatever caused it). */
export async function storeOutbound(trx: Knex.Transaction, m: OutboundMessage): Promise<{ id: string; fileName: string }> {
  const id = m.id ?? randomUUID();
  const format = m.format ?? 'x12';
  const fileName = m.fileName ?? fileNameFor(m.partner, m.docType, m.isaControl ?? '', id);
  const bytes = Buffer.from(m.text, format === 'x12' || (format === 'edifact' && !m.utf8) ? 'latin1' : 'utf8');
  await insertMessage(trx, {
    id,
    partner_id: m.partner.id,
    channel: 'mailbox',
    direction: 'outbound',
    content_type: { x12: 'application/edi-x12', edifact: 'application/edifact', xml: 'application/xml', json: 'application/json' }[format],
    format,
    raw: bytes,
    size_bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    correlation_id: m.correlationId ?? id,
    idempotency_key: m.idempotencyKey ?? null,
    state: 'ready',
    doc_type: m.docType,
    related_message_id: m.relatedMessageId ?? null,
    file_name: fileName,
    x12_interchange: m.isaControl ? String(Number(m.isaControl)) : null,
    x12_group: m.groupControl ? String(Number(m.groupControl)) : null,
    ack_status: m.ackDueAt ? 'pending' : null,
    ack_due_at: m.ackDueAt ?? null,
    processed_at: trx.fn.now(),
  });
  const envelope = !m.isaControl
    ? ''
    : format === 'edifact'
      ? ` UNB ${m.isaControl}`
      : ` ISA ${m.isaControl}${m.groupControl ? ` / GS ${m.groupControl}` : ''}`;
  await recordEvents(trx, [{ message_id: id, type: 'outbound.ready', detail: `${m.docType}${envelope} in the mailbox of ${m.partner.id} as ${fileName}` }]);
  // A partner that takes documents by push (AS2, its own SFTP server) gets it through the outbox.
  const push = await queuePush(trx, m.partner, id);
  if (push)
    await recordEvents(trx, [{ message_id: id, delivery_id: push.id, type: 'outbound.queued', detail: `to be pushed to ${m.partner.id} (${push.targetId})` }]);
  return { id, fileName };
}

const ACK_STATUS: Record<string, string> = { A: 'accepted', E: 'accepted-with-errors', P: 'partially-accepted', R: 'rejected' };

/**
 * Matches an inbound 997/999 to the group we sent (partner and GS06) and records what it says on both
 * messages. Returns the outbound message id, or undefined when nothing we sent matches.
 */
export async function reconcileFunctionalAck(trx: Knex.Transaction, partnerId: string, inboundId: string, ack: FunctionalAck): Promise<string | undefined> {
  const control = /^\d+$/.test(ack.groupControl) ? String(Number(ack.groupControl)) : ack.groupControl;
  const sent = await trx('messages')
    .select('id', 'doc_type', 'ack_status')
    .where({ partner_id: partnerId, direction: 'outbound', x12_group: control })
    .whereNotIn('doc_type', ['997', '999', 'TA1'])
    .orderBy('received_at', 'desc')
    .first()
    .forUpdate();
  const status = ACK_STATUS[ack.status] ?? `unknown (${ack.status})`;
  const sets = ack.sets.map((s) => `${s.id} ${s.control}: ${s.status || '?'}`).join(', ');
  if (!sent) {
    await recordEvents(trx, [
      {
        message_id: inboundId,
        type: 'ack.unmatched',
        detail: `${ack.type} for group ${ack.groupControl} (${ack.functionalId}) matches nothing sent to this partner`,
      },
    ]);
    return undefined;
  }
  await setAckStatus(trx, sent.id, status);
  await recordEvents(trx, [
    {
      message_id: sent.id,
      type: 'ack.received',
      code: ack.status,
      detail: `${ack.type}: group ${ack.groupControl} ${status}${sets ? ` (${sets})` : ''}`,
      data: { inboundMessageId: inboundId, sets: ack.sets },
    },
    {
      message_id: inboundId,
      type: 'ack.reconciled',
      detail: `${ack.type} for ${sent.doc_type} group ${ack.groupControl}: ${status}`,
      data: { outboundMessageId: sent.id },
    },
  ]);
  return sent.id as string;
}

/** Records what an inbound TA1 says about an interchange we sent. */
export async function reconcileTa1(trx: Knex.Transaction, partnerId: string, inboundId: string, ta1: X12Segment): Promise<void> {
  const [control = '', , , code = '', note = ''] = ta1.elements;
  const sent = await trx('messages')
    .select('id', 'doc_type')
    .where({ partner_id: partnerId, direction: 'outbound', x12_interchange: String(Number(control)) })
    .orderBy('received_at', 'desc')
    .first();
  if (!sent) {
    await recordEvents(trx, [{ message_id: inboundId, type: 'ack.unmatched', detail: `TA1 for interchange ${control} matches nothing sent to this partner` }]);
    return;
  }
  if (code === 'R') await setAckStatus(trx, sent.id, 'rejected');
  await recordEvents(trx, [
    {
      message_id: sent.id,
      type: 'ta1.received',
      code,
      detail: `TA1 ${code} note ${note} for interchange ${control}`,
      data: { inboundMessageId: inboundId },
    },
    {
      message_id: inboundId,
      type: 'ack.reconciled',
      detail: `TA1 ${code} for ${sent.doc_type} interchange ${control}`,
      data: { outboundMessageId: sent.id },
    },
  ]);
}

/** Marks outbound documents whose acknowledgment is late and raises an `ack.overdue` event for each (on its timeline and to subscribers). */
export async function flagOverdueAcks(knex: Knex): Promise<number> {
  return knex.transaction(async (trx) => {
    const rows = await markAcksOverdue(trx);
    if (rows.length) {
      await recordEvents(
        trx,
        rows.map((r) => ({
          message_id: r.id,
          type: 'ack.overdue' as const,
          code: 'GW_ACK_OVERDUE',
          detail: `No 997/999 from ${r.partner_id} for ${r.doc_type} group ${r.x12_group} within the expected window`,
        })),
      );
    }
    await publishAcksOverdue(trx, rows);
    return rows.length;
  });
}

export interface MailboxEntry {
  id: string;
  type: string;
  fileName: string;
  sizeBytes: number;
  createdAt: Date;
  relatedMessageId: string | null;
}

/** What waits in a partner's mailbox (not yet collected), oldest first. */
export async function listMailbox(knex: Knex, partnerId: string, limit = 100): Promise<MailboxEntry[]> {
  const rows = await knex('messages')
    .select('id', 'doc_type', 'file_name', 'size_bytes', 'received_at', 'related_message_id')
    .where({ partner_id: partnerId, direction: 'outbound' })
    .whereNull('collected_at')
    .orderBy('received_at')
    .limit(limit);
  return rows.map((r) => ({
    id: r.id,
    type: r.doc_type,
    fileName: r.file_name,
    sizeBytes: r.size_bytes,
    createdAt: r.received_at,
    relatedMessageId: r.related_message_id,
  }));
}

export async function readMailboxItem(
  knex: Knex,
  partnerId: string,
  id: string,
): Promise<{ raw: Buffer; fileName: string; type: string; contentType: string } | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const r = await knex('messages').select('raw', 'file_name', 'doc_type', 'content_type').where({ id, partner_id: partnerId, direction: 'outbound' }).first();
  return r ? { raw: r.raw, fileName: r.file_name, type: r.doc_type, contentType: r.content_type } : undefined;
}

/** Takes an item out of the mailbox (idempotent). Returns false when there is no such item. */
export async function collectMailboxItem(knex: Knex, partnerId: string, id: string, via: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  return knex.transaction(async (trx) => {
    const n = await markCollected(trx, id, partnerId);
    if (n) await recordEvents(trx, [{ message_id: id, type: 'outbound.collected', detail: `collected by ${partnerId} over ${via}` }]);
    else return Boolean(await trx('messages').where({ id, partner_id: partnerId, direction: 'outbound' }).first('id'));
    return true;
  });
}
