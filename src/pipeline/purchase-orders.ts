import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import type { GatewayConfig } from '../config/load.js';
import { renderOutbound } from '../mapping/render.js';
import { LINE_BREAKS, writeInterchange } from '../formats/x12/write.js';
import type { PartnerProfile } from '../types.js';
import { reserveEnvelopeControls, storeOutbound } from './outbound.js';
import { insertDocuments } from './documents.js';
import { checkedPurchaseOrder, enterPurchaseOrder } from './purchase-order-ledger.js';
import { placeEdifactOrder } from './purchase-order-edifact.js';

export interface SentPurchaseOrder {
  messageId: string;
  /** True when the Idempotency-Key matched an order sent before: nothing new was sent. */
  duplicate: boolean;
  format: 'x12' | 'edifact' | 'xml' | 'json';
  fileName: string;
  /** X12: ISA13, GS06, ST02; EDIFACT: UNB 0020 (interchangeControl) and UNH 0062 (setControl). */
  interchangeControl?: string;
  groupControl?: string;
  setControl?: string;
}

/**
 * Renders the ERP's canonical purchase order with the partner's outbound profile (X12 850, EDIFACT
 * ORDERS, cXML OrderRequest, JSON …) and places it for delivery on the partner's channel (its mailbox). X12
 * orders get control numbers reserved in the same transaction and wait for the partner's 997/999
 * until `x12.outbound.ackWithinMinutes`.
 */
export async function sendPurchaseOrder(
  knex: Knex,
  config: GatewayConfig,
  partner: PartnerProfile,
  body: unknown,
  idempotencyKey?: string,
  correlationId?: string,
): Promise<SentPurchaseOrder> {
  const spec = partner.outbound?.find((o) => o.type === 'purchase-order');
  if (!spec) throw new GatewayError('GW_AUTH_FORBIDDEN', `Partner ${partner.id} does not take purchase orders (its profile lists no outbound purchase-order).`);
  const profile = config.outbound.get(spec.mapping);
  if (!profile) throw new GatewayError('GW_CONFIG_REFERENCE', `Outbound profile ${spec.mapping} of partner ${partner.id} is not loaded.`);
  const po = checkedPurchaseOrder(body);
  if (idempotencyKey) {
    const earlier = await findEarlier(knex, partner.id, idempotencyKey);
    if (earlier) return earlier;
  }
  const id = randomUUID();
  const now = new Date();
  const rendered = renderOutbound(profile, po, {
    message: { id, createdAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), number: po.purchaseOrderNumber },
    partner: { id: partner.id, name: partner.name },
  });
  if (rendered.problems.length) {
    throw new GatewayError(
      'GW_MAP_REQUIRED',
      `Purchase order ${po.purchaseOrderNumber} cannot be rendered with ${profile.id} ` +
        `v${profile.version}: ${rendered.problems.map((p) => p.message).join(' ')}`,
      { problems: rendered.problems },
    );
  }
  try {
    return await knex.transaction(async (trx) => {
      let stored: { id: string; fileName: string };
      let envelope: Pick<SentPurchaseOrder, 'interchangeControl' | 'groupControl' | 'setControl'> = {};
      let sourceRef: string;
      if (rendered.format === 'x12') {
        const x = partner.x12;
        const theirs = x.partnerId ?? partner.identifiers.x12?.[0];
        if (!x.ourId || !theirs)
          throw new GatewayError('GW_CONFIG_REFERENCE', `Partner ${partner.id} needs x12.ourId and x12.partnerId (or identifiers.x12) to be sent X12.`);
        const controls = await reserveEnvelopeControls(trx, partner.id, 1, 1);
        const [isa, gs, st] = [controls.isa, controls.gs[0] as string, controls.st[0] as string];
        const target = profile.target as { transaction: string; functionalId?: string };
        const text = writeInterchange(
          {
            sender: x.ourId,
            receiver: theirs,
            control: isa,
            version: x.outbound.version.slice(0, 5),
            usage: x.outbound.usage,
            ackRequested: x.outbound.requestTa1,
            groups: [
              {
                functionalId: target.functionalId ?? 'PO',
                sender: x.ourId.id,
                receiver: theirs.id,
                control: gs,
                version: x.outbound.version,
                sets: [{ id: target.transaction, control: st, segments: rendered.segments }],
              },
            ],
            at: now,
          },
          { delimiters: x.outbound.delimiters, lineBreak: LINE_BREAKS[x.outbound.lineBreak] },
        );
        stored = await storeOutbound(trx, {
          id,
          partner,
          docType: target.transaction,
          text,
          isaControl: isa,
          groupControl: gs,
          ...(correlationId ? { correlationId } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ackDueAt: new Date(now.getTime() + x.outbound.ackWithinMinutes * 60_000),
        });
        envelope = { interchangeControl: isa, groupControl: gs, setControl: st };
        sourceRef = `ISA ${isa} / GS ${gs} / ST ${st} (${target.transaction})`;
      } else if (rendered.format === 'edifact') {
        const target = profile.target as Extract<typeof profile.target, { format: 'edifact' }>;
        const placed = await placeEdifactOrder(trx, partner, target, rendered.segments, {
          id,
          at: now,
          ...(correlationId ? { correlationId } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        stored = placed.stored;
        envelope = { interchangeControl: placed.interchange, setControl: placed.message };
        sourceRef = placed.sourceRef;
      } else {
        const fileName = (spec.fileName ?? `{type}-{number}.${rendered.format}`)
          .replaceAll('{type}', 'purchase-order')
          .replaceAll('{number}', po.purchaseOrderNumber.replace(/[^\w.-]/g, '_'))
          .replaceAll('{id}', id);
        stored = await storeOutbound(trx, {
          id,
          partner,
          docType: 'purchase-order',
          text: rendered.text,
          format: rendered.format,
          fileName,
          ...(correlationId ? { correlationId } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        sourceRef = fileName;
      }
      await insertDocuments(trx, [
        {
          id: randomUUID(),
          message_id: stored.id,
          seq: 1,
          partner_id: partner.id,
          type: 'purchase-order',
          schema_version: 1,
          profile_id: profile.id,
          profile_version: profile.version,
          state: 'accepted',
          canonical: JSON.stringify(po),
          document_number: po.purchaseOrderNumber,
          po_numbers: [po.purchaseOrderNumber],
          source_ref: sourceRef,
        },
      ]);
      await enterPurchaseOrder(trx, partner.id, po, 'sent', stored.id);
      return { messageId: stored.id, duplicate: false, format: rendered.format, fileName: stored.fileName, ...envelope };
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
  const m = await knex('messages')
    .select('id', 'x12_interchange', 'x12_group', 'direction', 'format', 'file_name')
    .where({ partner_id: partnerId, idempotency_key: key })
    .first();
  if (!m) return undefined;
  if (m.direction !== 'outbound') throw new GatewayError('GW_IDEMPOTENCY_CONFLICT', `Idempotency-Key "${key}" was used for something else.`);
  const doc = await knex('documents').select('source_ref').where('message_id', m.id).first();
  const unb = m.format === 'edifact' ? /^UNB (\S+) \/ UNH (\S+)/.exec(doc?.source_ref ?? '') : null;
  if (unb)
    return { messageId: m.id, duplicate: true, format: m.format, fileName: m.file_name, interchangeControl: unb[1] as string, setControl: unb[2] as string };
  const envelope = m.x12_interchange
    ? {
        interchangeControl: String(m.x12_interchange).padStart(9, '0'),
        groupControl: m.x12_group,
        setControl: /ST (\d+)/.exec(doc?.source_ref ?? '')?.[1] ?? '',
      }
    : {};
  return { messageId: m.id, duplicate: true, format: m.format, fileName: m.file_name, ...envelope };
}
