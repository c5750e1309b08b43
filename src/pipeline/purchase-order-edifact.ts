import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import { DEFAULT_SEPARATORS } from '../formats/edifact/reader.js';
import type { EdifactOutSegment } from '../formats/edifact/types.js';
import { writeEdifact } from '../formats/edifact/write.js';
import type { OutboundTarget } from '../mapping/profile.js';
import type { EdifactParty, PartnerProfile } from '../types.js';
import { reserveEnvelopeControls, storeOutbound } from './outbound.js';

const LINE_BREAKS = { lf: '\n', crlf: '\r\n', none: '' } as const;
const pad2 = (n: number) => String(n).padStart(2, '0');
const party = (p: EdifactParty) => (p.qualifier ? [p.id, p.qualifier] : p.id);

export interface PlacedEdifact {
  stored: { id: string; fileName: string };
  /** UNB 0020 and UNH 0062 as written. */
  interchange: string;
  message: string;
  sourceRef: string;
}

/**
 * The interchange around one outbound message body: UNB (syntax UNOC 3, our id to the partner's),
 * UNH, the body, UNT, UNZ. Pure.
 */
export function edifactInterchange(
  body: EdifactOutSegment[],
  target: Extract<OutboundTarget, { format: 'edifact' }>,
  parties: { ours: EdifactParty; theirs: EdifactParty },
  controls: { interchange: string; message: string },
  at: Date,
): EdifactOutSegment[] {
  const date = `${String(at.getUTCFullYear()).slice(2)}${pad2(at.getUTCMonth() + 1)}${pad2(at.getUTCDate())}`;
  const time = `${pad2(at.getUTCHours())}${pad2(at.getUTCMinutes())}`;
  const messageId = [target.message, target.version, target.release, target.agency ?? 'UN', ...(target.association ? [target.association] : [])];
  return [
    { tag: 'UNB', elements: [['UNOC', '3'], party(parties.ours), party(parties.theirs), [date, time], controls.interchange] },
    { tag: 'UNH', elements: [controls.message, messageId] },
    ...body,
    { tag: 'UNT', elements: [String(body.length + 2), controls.message] },
    { tag: 'UNZ', elements: ['1', controls.interchange] },
  ];
}

/**
 * Places a rendered EDIFACT message in the partner's mailbox: control references from the same
 * outbound counters as X12 and CONTRL (UNB 0020 from the interchange counter, UNH 0062 from the
 * set counter), reserved in the caller's transaction.
 */
export async function placeEdifactOrder(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  target: Extract<OutboundTarget, { format: 'edifact' }>,
  body: EdifactOutSegment[],
  m: { id: string; at: Date; correlationId?: string; idempotencyKey?: string },
): Promise<PlacedEdifact> {
  const ours = partner.edifact.ourId;
  const theirs = partner.identifiers.edifact?.[0];
  if (!ours || !theirs) throw new GatewayError('GW_CONFIG_REFERENCE', `Partner ${partner.id} needs edifact.ourId and identifiers.edifact to be sent EDIFACT.`);
  const controls = await reserveEnvelopeControls(trx, partner.id, 0, 1);
  const interchange = String(Number(controls.isa));
  const message = String(Number(controls.st[0]));
  const segments = edifactInterchange(body, target, { ours, theirs }, { interchange, message }, m.at);
  const text = writeEdifact(segments, DEFAULT_SEPARATORS, { lineBreak: LINE_BREAKS[partner.edifact.outbound.lineBreak] });
  const fileName = partner.edifact.outbound.fileName.replaceAll('{type}', target.message).replaceAll('{control}', interchange).replaceAll('{id}', m.id);
  const stored = await storeOutbound(trx, {
    id: m.id,
    partner,
    docType: target.message,
    text,
    format: 'edifact',
    fileName,
    // Kept as the message's interchange control, so the partner's CONTRL (UCI 0020) finds it.
    isaControl: interchange,
    ...(m.correlationId ? { correlationId: m.correlationId } : {}),
    ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}),
  });
  return { stored, interchange, message, sourceRef: `UNB ${interchange} / UNH ${message} (${target.message})` };
}
