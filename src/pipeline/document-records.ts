import { randomUUID } from 'node:crypto';
import type { DocumentDelivery } from '../delivery/outbox.js';
import type { TimelineEvent } from '../observability/events.js';
import { WRITE_SCOPES } from '../security/scopes.js';
import type { MessageChannel, PartnerProfile, SourceFormat } from '../types.js';
import type { InterpretedDocument } from './documents.js';
import type { ReadyDocument } from './interpreter.js';

/** A received message as interpretation claims it. */
export interface ClaimedMessage {
  id: string;
  partner_id: string;
  /** The door it came through (labels its counters and log lines). */
  channel?: MessageChannel;
  format: SourceFormat;
  /** As the door recorded it; a portal form's names the canonical type (decision 0028). */
  content_type?: string | null;
  size_bytes: number;
  correlation_id: string;
  /** The name the file arrived with (SFTP uploads, mailbox documents); CSV profiles may match on it. */
  file_name: string | null;
  /** The raw bytes when the message is small enough to come with the claim; read in slices otherwise. */
  raw: Buffer | null;
  /** The scopes the sender held (null: unrestricted). */
  scopes: string[] | null;
}

/** Stable across replays: the same document of the same message to the same target. */
function deliveryKey(messageId: string, seq: number, targetId: string): string {
  return `${messageId}.${seq}.${targetId}`;
}

/** The document as it may be accepted: a type the sender holds no write scope for is rejected (GW_AUTH_SCOPE). */
export function withinScope(row: ClaimedMessage, doc: ReadyDocument): ReadyDocument {
  const scope = doc.type ? WRITE_SCOPES[doc.type] : undefined;
  if (!row.scopes || !scope || doc.canonical === null || row.scopes.includes(scope)) return doc;
  const problem = {
    code: 'GW_AUTH_SCOPE' as const,
    message: `A document of type ${doc.type} needs the scope ${scope}; the sender held ${row.scopes.join(' ') || 'none'}.`,
  };
  return { ...doc, canonical: null, problems: [...doc.problems, problem] };
}

/** What one interpreted document writes: its row, its timeline lines and, when accepted, a delivery per route that takes its type. */
export function documentRecords(
  partner: PartnerProfile,
  row: ClaimedMessage,
  id: string,
  doc: ReadyDocument,
  duplicate: boolean,
): { document: InterpretedDocument; events: TimelineEvent[]; deliveries: DocumentDelivery[] } {
  const document: InterpretedDocument = {
    id,
    message_id: row.id,
    seq: doc.seq,
    partner_id: row.partner_id,
    type: doc.type,
    schema_version: doc.schemaVersion,
    profile_id: doc.profile?.id ?? null,
    profile_version: doc.profile?.version ?? null,
    state: duplicate ? 'duplicate' : doc.canonical !== null ? 'accepted' : 'rejected',
    canonical: doc.canonical,
    problems: JSON.stringify(doc.problems),
    document_number: doc.keys.documentNumber ?? null,
    po_numbers: doc.keys.purchaseOrderNumbers,
    source_ref: doc.sourceRef,
  };
  const on = { message_id: row.id, document_id: id };
  if (duplicate) {
    const detail = `${doc.type ?? 'document'} ${doc.keys.documentNumber ?? ''} (${doc.sourceRef}) repeats an earlier interchange; stored, not delivered`;
    const code = row.format === 'edifact' ? 'GW_EDIFACT_DUPLICATE' : 'GW_X12_DUPLICATE';
    return { document, events: [{ ...on, type: 'document.duplicate', code, detail }], deliveries: [] };
  }
  if (doc.canonical === null) {
    const data = { sourceRef: doc.sourceRef };
    const events = doc.problems.map(
      (p): TimelineEvent => ({ ...on, type: 'document.rejected', code: p.code, detail: p.message, data: { ...data, location: p.location ?? null } }),
    );
    return { document, events, deliveries: [] };
  }
  const how = doc.profile ? `mapped by ${doc.profile.id} v${doc.profile.version}` : `taken as canonical ${doc.type} v${doc.schemaVersion}`;
  const mapped = `${doc.type} ${doc.keys.documentNumber ?? ''} (${doc.sourceRef}) ${how}`;
  const events: TimelineEvent[] = [{ ...on, type: 'document.accepted', detail: mapped }];
  const deliveries = documentDeliveries(partner, { id, message_id: row.id, seq: doc.seq, type: doc.type });
  if (deliveries.length === 0)
    events.push({ ...on, type: 'unrouted', detail: `No route of partner ${partner.id} takes ${doc.type}; the document is stored but goes nowhere.` });
  for (const d of deliveries) events.push({ ...on, delivery_id: d.id, type: 'routed', detail: `to ${d.route.target.id}` });
  return { document, events, deliveries };
}

/**
 * A delivery per route of the partner that takes the document's type, each with the key stable
 * across replays (a held document released later is queued with the keys it would have had).
 */
export function documentDeliveries(partner: PartnerProfile, doc: { id: string; message_id: string; seq: number; type: string | null }): DocumentDelivery[] {
  const routes = partner.routes.filter((r) => doc.type && (r.types as readonly string[]).includes(doc.type));
  return routes.map((route) => ({
    id: randomUUID(),
    documentId: doc.id,
    messageId: doc.message_id,
    partnerId: partner.id,
    route,
    idempotencyKey: deliveryKey(doc.message_id, doc.seq, route.target.id),
  }));
}
