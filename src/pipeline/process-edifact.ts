import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import type { Problem } from '../errors.js';
import { contrlAction, contrlInterchange, type EdifactReceipt } from '../formats/edifact/contrl.js';
import type { EdifactParty } from '../formats/edifact/types.js';
import { recordEvents, type TimelineEvent } from '../observability/events.js';
import type { PartnerProfile } from '../types.js';
import type { ClaimedMessage } from './document-records.js';
import { DocumentWriter, WRITE_BATCH } from './document-writer.js';
import type { Interpreted } from './interpreted-report.js';
import type { Interpreter, ReadyEdifactItem } from './interpreter.js';
import { settle } from './message-settle.js';
import { setAckStatus } from './messages.js';
import { reserveEnvelopeControls, storeOutbound } from './outbound.js';
import { pumpStream } from './stream-pump.js';

/**
 * How the pipeline processes an EDIFACT message: its stored bytes streamed through the
 * interpreter (decision 0047), documents written as their messages complete, the duplicate check
 * per interchange (same partner, sender and UNB 0020 within `edifact.duplicates.windowDays`, as X12
 * does with ISA13: decision 0005) and the CONTRL in the partner's mailbox (decision 0043).
 */

const LINE_BREAKS = { lf: '\n', crlf: '\r\n', none: '' } as const;

/** An earlier sighting of an interchange: it is a duplicate. */
interface Earlier {
  messageId: string;
  seenAt: Date;
}

/**
 * Records an interchange as seen (same partner, sender and UNB 0020); returns the earlier sighting
 * when it repeats one within the window (its documents are stored as duplicates, not delivered), or
 * null when it is new. The message itself (a replay) is no duplicate.
 */
async function claimInterchange(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  key: { sender: EdifactParty; controlRef: string },
): Promise<Earlier | null> {
  const days = partner.edifact.duplicates.windowDays;
  const where = { partner_id: partner.id, sender_qualifier: key.sender.qualifier ?? '', sender_id: key.sender.id, control_ref: key.controlRef };
  const claimed = await trx.raw<{ rows: unknown[] }>(
    `INSERT INTO edifact_interchanges (partner_id, sender_qualifier, sender_id, control_ref, message_id) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (partner_id, sender_qualifier, sender_id, control_ref) DO UPDATE SET message_id = excluded.message_id, seen_at = now()
       WHERE edifact_interchanges.seen_at < now() - make_interval(days => ?) OR edifact_interchanges.message_id = excluded.message_id
     RETURNING message_id`,
    [where.partner_id, where.sender_qualifier, where.sender_id, where.control_ref, row.id, days],
  );
  if (claimed.rows.length) return null;
  const earlier = await trx('edifact_interchanges').select('message_id', 'seen_at').where(where).first();
  return { messageId: earlier.message_id, seenAt: new Date(earlier.seen_at) };
}

/** Forgets this message's claim of an interchange found broken after it was claimed: a corrected resend is no duplicate. */
async function unclaimInterchange(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  r: { sender: EdifactParty; controlRef: string },
): Promise<void> {
  await trx('edifact_interchanges')
    .where({ partner_id: partner.id, sender_qualifier: r.sender.qualifier ?? '', sender_id: r.sender.id, control_ref: r.controlRef, message_id: row.id })
    .del();
}

function duplicateEvent(row: ClaimedMessage, r: EdifactReceipt, earlier: Earlier): TimelineEvent {
  return {
    message_id: row.id,
    type: 'duplicate',
    code: 'GW_EDIFACT_DUPLICATE',
    detail:
      `Interchange ${r.controlRef} from ${r.sender.id} was received before (message ${earlier.messageId}, ` +
      `${earlier.seenAt.toISOString()}): not delivered again`,
    data: { originalMessageId: earlier.messageId },
  };
}

/** Whether the partner gets a CONTRL for this interchange; one that holds only CONTRLs never does. */
function wantsContrl(partner: PartnerProfile, r: EdifactReceipt): boolean {
  if (r.messages.length > 0 && r.contrl.length === r.messages.length) return false;
  const when = partner.edifact.contrl;
  return when === 'always' || (when === 'requested' && r.ackRequested);
}

const CONTRL_STATUS: Record<string, string> = { '7': 'accepted', '4': 'rejected', '8': 'received' };

/**
 * Matches each CONTRL the partner sent to the interchange we sent it (partner and UNB 0020, kept in
 * the outbound message's interchange column) and records what it says on both. Returns how many matched.
 */
export async function reconcileContrls(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  receipts: readonly EdifactReceipt[],
): Promise<number> {
  let matched = 0;
  for (const { ref, action } of receipts.flatMap((r) => r.contrl)) {
    const control = /^\d+$/.test(ref) ? String(Number(ref)) : ref;
    const sent = await trx('messages')
      .select('id', 'doc_type')
      .where({ partner_id: partner.id, direction: 'outbound', format: 'edifact', x12_interchange: control })
      .whereNot('doc_type', 'CONTRL')
      .orderBy('received_at', 'desc')
      .first()
      .forUpdate();
    const status = CONTRL_STATUS[action] ?? `unknown (${action})`;
    if (!sent) {
      await recordEvents(trx, [{ message_id: row.id, type: 'ack.unmatched', detail: `CONTRL for interchange ${ref} matches nothing sent to this partner` }]);
      continue;
    }
    matched++;
    await setAckStatus(trx, sent.id, status);
    await recordEvents(trx, [
      { message_id: sent.id, type: 'ack.received', code: action, detail: `CONTRL: interchange ${ref} ${status}`, data: { inboundMessageId: row.id, sets: [] } },
      { message_id: row.id, type: 'ack.reconciled', detail: `CONTRL for ${sent.doc_type} interchange ${ref}: ${status}`, data: { outboundMessageId: sent.id } },
    ]);
  }
  return matched;
}

/** Builds and stores a CONTRL per interchange that asks for one (or per the profile), in the partner's mailbox. */
export async function acknowledgeEdifact(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  receipts: readonly EdifactReceipt[],
  duplicates: ReadonlySet<EdifactReceipt>,
): Promise<void> {
  for (const r of receipts.filter((x) => wantsContrl(partner, x))) {
    const controls = await reserveEnvelopeControls(trx, partner.id, 0, 1);
    const interchange = String(Number(controls.isa));
    const message = String(Number(controls.st[0]));
    const duplicate = duplicates.has(r);
    const text = contrlInterchange(r, duplicate, { interchange, message }, new Date(), LINE_BREAKS[partner.edifact.outbound.lineBreak]);
    const fileName = partner.edifact.outbound.fileName.replaceAll('{type}', 'CONTRL').replaceAll('{control}', interchange).replaceAll('{id}', row.id);
    const ack = await storeOutbound(trx, {
      partner,
      docType: 'CONTRL',
      text,
      format: 'edifact',
      utf8: r.syntax.id === 'UNOW' || r.syntax.id === 'UNOY',
      fileName,
      relatedMessageId: row.id,
      correlationId: row.correlation_id,
    });
    const action = contrlAction(r, duplicate);
    await recordEvents(trx, [
      {
        message_id: row.id,
        type: 'ack.generated',
        detail: `UNB ${r.controlRef} answered by CONTRL ${interchange} (UCI action ${action}, ${CONTRL_STATUS[action]})`,
        data: { ackMessageId: ack.id, fileName: ack.fileName },
      },
    ]);
  }
}

/** The interchange being read: its claim against duplicates (absent when not claimed). */
interface OpenInterchange {
  key: { sender: EdifactParty; controlRef: string };
  claimed: boolean;
  earlier: Earlier | null;
}

/** What a message's interchanges came to, for its timeline and final state. */
interface Tally {
  problems: Problem[];
  documents: number;
  interchanges: number;
  duplicates: number;
  reconciled: number;
}

/**
 * Interprets an EDIFACT message as a stream and writes what it holds, interchange by interchange:
 * documents as their messages complete (as duplicates when the interchange repeats an earlier one),
 * taken back when their group or interchange turns out broken; then, at each interchange's end, the
 * partner's CONTRLs reconciled and the CONTRL answering it.
 */
export async function processEdifact(
  trx: Knex.Transaction,
  config: GatewayConfig,
  partner: PartnerProfile,
  row: ClaimedMessage,
  interpreter: Interpreter,
): Promise<Interpreted> {
  const writer = new DocumentWriter(trx, partner, row);
  const tally: Tally = { problems: [], documents: 0, interchanges: 0, duplicates: 0, reconciled: 0 };
  let open: OpenInterchange | undefined;
  const handle = async (item: ReadyEdifactItem): Promise<void> => {
    switch (item.kind) {
      case 'interchange': {
        tally.interchanges++;
        const claim = item.readable && item.controlRef && partner.edifact.duplicates.windowDays > 0;
        open = { key: item, claimed: Boolean(claim), earlier: claim ? await claimInterchange(trx, partner, row, item) : null };
        return;
      }
      case 'document':
        tally.documents++;
        writer.add(item.doc, Boolean(open?.earlier));
        if (writer.size >= WRITE_BATCH) await writer.write();
        return;
      case 'group-end':
        await writer.reject(item.firstSeq, item.lastSeq, item.problems, `group ${item.ref} is rejected: ${sentences(item.problems)}`);
        return;
      case 'interchange-end':
        await finishInterchange(trx, partner, row, writer, item, open, tally);
        open = undefined;
        return;
      case 'fatal':
        tally.problems.push(item.problem);
        await writer.reject(item.firstSeq, item.lastSeq, [item.problem], `the interchange cannot be read: ${item.problem.message}`);
        // An interchange not read to its end was not received: a complete resend is no duplicate.
        if (open?.claimed && !open.earlier) await unclaimInterchange(trx, partner, row, open.key);
        open = undefined;
        return;
    }
  };
  await pumpStream(trx, row, await interpreter.edifact(config, partner), handle, writer);
  await writer.flush();
  await recordEvents(trx, [{ message_id: row.id, type: 'interpreted', detail: interpretedDetail(tally) }]);
  return settle(trx, row, tally.problems, tally, writer.numbers);
}

const sentences = (problems: readonly Problem[]) => problems.map((p) => p.message).join(' ');

function interpretedDetail(t: Tally): string {
  return [
    `edifact: ${t.interchanges} interchange(s), ${t.documents} document(s)`,
    ...(t.duplicates ? [`${t.duplicates} duplicate interchange(s)`] : []),
    ...(t.reconciled ? [`${t.reconciled} acknowledgment(s) reconciled`] : []),
    ...(t.problems.length ? [`${t.problems.length} envelope problem(s)`] : []),
  ].join(', ');
}

/**
 * An interchange read to its end: a broken one takes its documents back (and its claim, so that a
 * corrected resend is no duplicate); a duplicate is recorded; CONTRLs it holds are reconciled and
 * the CONTRL answering it stored.
 */
async function finishInterchange(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  writer: DocumentWriter,
  item: Extract<ReadyEdifactItem, { kind: 'interchange-end' }>,
  open: OpenInterchange | undefined,
  tally: Tally,
): Promise<void> {
  const { receipt } = item;
  tally.problems.push(...item.problems);
  await writer.flush();
  const broken = receipt.problems.length > 0;
  if (broken) {
    await writer.reject(receipt.firstSeq, receipt.lastSeq, receipt.problems, `interchange ${receipt.controlRef} is rejected: ${sentences(receipt.problems)}`);
    if (open?.claimed && !open.earlier) await unclaimInterchange(trx, partner, row, open.key);
  }
  const earlier = broken ? null : (open?.earlier ?? null);
  if (earlier) {
    tally.duplicates++;
    await recordEvents(trx, [duplicateEvent(row, receipt, earlier)]);
  } else tally.reconciled += await reconcileContrls(trx, partner, row, [receipt]);
  await acknowledgeEdifact(trx, partner, row, [receipt], new Set(earlier ? [receipt] : []));
}
