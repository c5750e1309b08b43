import type { Knex } from 'knex';
import { contrlAction, contrlInterchange, type EdifactReceipt } from '../formats/edifact/contrl.js';
import { recordEvents } from '../observability/events.js';
import type { PartnerProfile } from '../types.js';
import type { ClaimedMessage } from './document-records.js';
import { setAckStatus } from './messages.js';
import { reserveEnvelopeControls, storeOutbound } from './outbound.js';

/**
 * What the pipeline does with an EDIFACT message beyond storing its documents: the duplicate check
 * per interchange (same partner, sender and UNB 0020 within `edifact.duplicates.windowDays`, as X12
 * does with ISA13: decision 0005) and the CONTRL in the partner's mailbox (decision 0043).
 */

const LINE_BREAKS = { lf: '\n', crlf: '\r\n', none: '' } as const;

/**
 * Records each readable interchange as seen; returns the receipts that repeat an earlier one (their
 * documents are stored as duplicates, not delivered). The message itself (a replay) is no duplicate.
 */
export async function claimEdifactInterchanges(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  receipts: readonly EdifactReceipt[],
): Promise<Set<EdifactReceipt>> {
  const duplicates = new Set<EdifactReceipt>();
  const days = partner.edifact.duplicates.windowDays;
  if (days === 0) return duplicates;
  for (const r of receipts) {
    if (r.problems.length || !r.controlRef) continue;
    const key = [partner.id, r.sender.qualifier ?? '', r.sender.id, r.controlRef];
    const claimed = await trx.raw<{ rows: unknown[] }>(
      `INSERT INTO edifact_interchanges (partner_id, sender_qualifier, sender_id, control_ref, message_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (partner_id, sender_qualifier, sender_id, control_ref) DO UPDATE SET message_id = excluded.message_id, seen_at = now()
         WHERE edifact_interchanges.seen_at < now() - make_interval(days => ?) OR edifact_interchanges.message_id = excluded.message_id
       RETURNING message_id`,
      [...key, row.id, days],
    );
    if (claimed.rows.length) continue;
    duplicates.add(r);
    const earlier = await trx('edifact_interchanges')
      .select('message_id', 'seen_at')
      .where({ partner_id: key[0], sender_qualifier: key[1], sender_id: key[2], control_ref: key[3] })
      .first();
    await recordEvents(trx, [
      {
        message_id: row.id,
        type: 'duplicate',
        code: 'GW_EDIFACT_DUPLICATE',
        detail:
          `Interchange ${r.controlRef} from ${r.sender.id} was received before (message ${earlier.message_id}, ` +
          `${new Date(earlier.seen_at).toISOString()}): not delivered again`,
        data: { originalMessageId: earlier.message_id },
      },
    ]);
  }
  return duplicates;
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
