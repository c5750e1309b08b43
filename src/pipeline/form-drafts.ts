import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

/*
 * The `portal_drafts` table (decision 0028): every write to it is one of these functions
 * (docs/architecture.md, "Who writes which table"). Every read and write names the partner, so a
 * draft id of another partner behaves as a missing one.
 */

export type DraftKind = 'asn' | 'invoice';

export interface FormDraft {
  id: string;
  kind: DraftKind;
  orderDocumentId: string;
  asnDocumentId: string | null;
  fields: Record<string, string>;
  updatedAt: Date;
  submittedMessageId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface DraftRow {
  id: string;
  kind: DraftKind;
  order_document_id: string;
  asn_document_id: string | null;
  fields: Record<string, string>;
  updated_at: Date;
  submitted_message_id: string | null;
}

function fromRow(r: DraftRow): FormDraft {
  return {
    id: r.id,
    kind: r.kind,
    orderDocumentId: r.order_document_id,
    asnDocumentId: r.asn_document_id,
    fields: r.fields,
    updatedAt: r.updated_at,
    submittedMessageId: r.submitted_message_id,
  };
}

const COLUMNS = ['id', 'kind', 'order_document_id', 'asn_document_id', 'fields', 'updated_at', 'submitted_message_id'];

export async function readDraft(knex: Knex, partnerId: string, id: string): Promise<FormDraft | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await knex('portal_drafts').select(COLUMNS).where({ partner_id: partnerId, id }).first();
  return row ? fromRow(row) : undefined;
}

/** The partner's drafts not yet submitted, newest first. */
export async function openDrafts(knex: Knex, partnerId: string, limit = 50): Promise<FormDraft[]> {
  const rows = await knex('portal_drafts')
    .select(COLUMNS)
    .where({ partner_id: partnerId })
    .whereNull('submitted_message_id')
    .orderBy('updated_at', 'desc')
    .limit(limit);
  return rows.map(fromRow);
}

/**
 * Creates the draft, or replaces the fields of the partner's draft `id` when it is not submitted
 * yet; undefined when `id` names no such open draft.
 */
export async function saveDraft(
  knex: Knex,
  partnerId: string,
  by: string,
  d: { id?: string; kind: DraftKind; orderDocumentId: string; asnDocumentId?: string | null; fields: Record<string, string> },
): Promise<FormDraft | undefined> {
  if (d.id) {
    if (!UUID.test(d.id)) return undefined;
    const [row] = await knex('portal_drafts')
      .where({ partner_id: partnerId, id: d.id, kind: d.kind })
      .whereNull('submitted_message_id')
      .update({ fields: JSON.stringify(d.fields), updated_by: by, updated_at: knex.fn.now() })
      .returning(COLUMNS);
    return row ? fromRow(row) : undefined;
  }
  const [row] = await knex('portal_drafts')
    .insert({
      id: randomUUID(),
      partner_id: partnerId,
      kind: d.kind,
      order_document_id: d.orderDocumentId,
      asn_document_id: d.asnDocumentId ?? null,
      fields: JSON.stringify(d.fields),
      updated_by: by,
    })
    .returning(COLUMNS);
  return fromRow(row);
}

/** Marks the draft as having become `messageId`; it is no longer open. */
export async function markDraftSubmitted(knex: Knex, partnerId: string, id: string, messageId: string): Promise<void> {
  if (!UUID.test(id)) return;
  await knex('portal_drafts').where({ partner_id: partnerId, id }).update({ submitted_message_id: messageId, updated_at: knex.fn.now() });
}
