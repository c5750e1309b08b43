import type { Knex } from 'knex';

/**
 * Drafts of the supplier's forms (decision 0028): a ship notice or an invoice being filled in, kept
 * as the fields the person typed (not yet a canonical document: a draft may be incomplete or wrong).
 * A draft belongs to one partner and is read only with that partner; submitting it records the
 * message it became, so the draft stays as the form's history and cannot be submitted twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_drafts', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    /** `asn` or `invoice`. */
    t.text('kind').notNullable();
    /** The purchase order document (documents.id) the form was opened from. */
    t.uuid('order_document_id').notNullable();
    /** The ship notice document an invoice was opened from, if any. */
    t.uuid('asn_document_id');
    /** The form's fields, by field name, as typed. */
    t.jsonb('fields').notNullable();
    t.text('updated_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('submitted_message_id');
    t.index(['partner_id', 'updated_at']);
  });
  await knex.raw(`ALTER TABLE portal_drafts ADD CONSTRAINT portal_drafts_kind CHECK (kind IN ('asn', 'invoice'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('portal_drafts');
}
