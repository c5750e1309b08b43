import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { validateCanonical } from '../canonical/index.js';
import type { PurchaseOrderV1 } from '../canonical/types.js';
import { GatewayError } from '../errors.js';
import { render850 } from '../formats/x12/render-850.js';
import { LINE_BREAKS, writeInterchange } from '../formats/x12/write.js';
import type { PartnerProfile } from '../types.js';
import { reserveEnvelopeControls, storeOutbound } from './outbound.js';

export interface SentPurchaseOrder {
  messageId: string;
  /** True when the Idempotency-Key matched an order sent before: nothing new was sent. */
  duplicate: boolean;
  interchangeControl: string;
  groupControl: string;
  setControl: string;
}

/**
 * Renders the ERP's canonical purchase order as an X12 850 in the partner's envelope and places it
 * for delivery on the partner's channel (its mailbox), with control numbers reserved in the same
 * transaction. The order then waits for the partner's 997/999 until `x12.outbound.ackWithinMinutes`.
 */
export async function sendPurchaseOrder(knex: Knex, partner: PartnerProfile, body: unknown, idempotencyKey?: string, correlationId?: string): Promise<SentPurchaseOrder> {
  if (!partner.outbound?.some((o) => o.type === 'purchase-order')) {
    throw new GatewayError('GW_AUTH_FORBIDDEN', `Partner ${partner.id} does not take purchase orders (its profile lists no outbound purchase-order).`);
  }
  const x = partner.x12;
  const theirs = x.partnerId ?? partner.identifiers.x12?.[0];
  if (!x.ourId || !theirs) throw new GatewayError('GW_CONFIG_REFERENCE', `Partner ${partner.id} needs x12.ourId and x12.partnerId (or identifiers.x12) to be sent X12.`);
  const problems = validateCanonical('purchase-order', 1, body);
  if (problems.length) throw new GatewayError('GW_CANONICAL_INVALID', `The purchase order breaks the canonical schema purchase-order v1: ${problems.map((p) => p.message).join(' ')}`, { problems, ...(problems[0]?.location ? { location: problems[0].location } : {}) });
  const po = body as PurchaseOrderV1;
  if (idempotencyKey) {
    const earlier = await findEarlier(knex, partner.id, idempotencyKey);
    if (earlier) return earlier;
  }
  try {
    return await knex.transaction(async (trx) => {
      const controls = await reserveEnvelopeControls(trx, partner.id, 1, 1);
      const [isa, gs, st] = [controls.isa, controls.gs[0] as string, controls.st[0] as string];
      const text = writeInterchange(
        {
          sender: x.ourId as { qualifier: string; id: string },
          receiver: theirs,
          control: isa,
          version: x.outbound.version.slice(0, 5),
          usage: x.outbound.usage,
          ackRequested: x.outbound.requestTa1,
          groups: [{ functionalId: 'PO', sender: x.ourId?.id ?? '', receiver: theirs.id, control: gs, version: x.outbound.version, sets: [{ id: '850', control: st, segments: render850(po) }] }],
          at: new Date(),
        },
        { delimiters: x.outbound.delimiters, lineBreak: LINE_BREAKS[x.outbound.lineBreak] },
      );
      const { id: messageId } = await storeOutbound(trx, {
        partner,
        docType: '850',
        text,
        isaControl: isa,
        groupControl: gs,
        ...(correlationId ? { correlationId } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
        ackDueAt: new Date(Date.now() + x.outbound.ackWithinMinutes * 60_000),
      });
      await trx('documents').insert({
        id: randomUUID(),
        message_id: messageId,
        seq: 1,
        partner_id: partner.id,
        type: 'purchase-order',
        schema_version: 1,
        state: 'accepted',
        canonical: JSON.stringify(po),
        document_number: po.purchaseOrderNumber,
        po_numbers: [po.purchaseOrderNumber],
        source_ref: `ISA ${isa} / GS ${gs} / ST ${st} (850)`,
      });
      return { messageId, duplicate: false, interchangeControl: isa, groupControl: gs, setControl: st };
    });
  } catch (err) {
    // Two requests with one Idempotency-Key at once: the second loses on the unique key.
    if ((err as { code?: string }).code === '23505' && idempotencyKey) {
      const earlier = await findEarlier(knex, partner.id, idempotencyKey);
      if (earlier) return earlier;
    }
    throw err;
  }
}

async function findEarlier(knex: Knex, partnerId: string, key: string): Promise<SentPurchaseOrder | undefined> {
  const m = await knex('messages').select('id', 'x12_interchange', 'x12_group', 'direction').where({ partner_id: partnerId, idempotency_key: key }).first();
  if (!m) return undefined;
  if (m.direction !== 'outbound') throw new GatewayError('GW_IDEMPOTENCY_CONFLICT', `Idempotency-Key "${key}" was used for something else.`);
  const doc = await knex('documents').select('source_ref').where('message_id', m.id).first();
  return { messageId: m.id, duplicate: true, interchangeControl: String(m.x12_interchange).padStart(9, '0'), groupControl: m.x12_group, setControl: /ST (\d+)/.exec(doc?.source_ref ?? '')?.[1] ?? '' };
}
