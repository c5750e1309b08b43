import type { Knex } from 'knex';

/**
 * X12: control numbers for what we send, the interchanges we have seen (duplicate detection), and
 * outbound messages (acknowledgments, purchase orders) kept in each partner's mailbox.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    /** Outbound: what the message is (`997`, `999`, `TA1`, `850`). */
    t.text('doc_type');
    /** Outbound acknowledgments: the inbound message they answer. */
    t.uuid('related_message_id');
    /** Outbound: the name the partner sees in its mailbox. */
    t.text('file_name');
    t.timestamp('collected_at', { useTz: true });
    /** Outbound documents that expect an acknowledgment: pending, accepted, accepted-with-errors, partially-accepted, rejected, overdue. */
    t.text('ack_status');
    t.timestamp('ack_due_at', { useTz: true });
    /** Outbound X12: ISA13 and GS06 as written, to match acknowledgments (numbers, no padding). */
    t.text('x12_interchange');
    t.text('x12_group');
  });
  // Large payloads are read in slices; EXTERNAL (uncompressed TOAST) makes substring() read only the slice.
  await knex.raw('ALTER TABLE messages ALTER COLUMN raw SET STORAGE EXTERNAL');
  await knex.raw(`CREATE INDEX messages_mailbox ON messages (partner_id, received_at) WHERE direction = 'outbound' AND collected_at IS NULL`);
  await knex.raw(`CREATE INDEX messages_ack_due ON messages (ack_due_at) WHERE ack_status = 'pending'`);
  await knex.raw(`CREATE INDEX messages_outbound_x12 ON messages (partner_id, x12_group) WHERE direction = 'outbound'`);

  await knex.schema.createTable('control_numbers', (t) => {
    t.text('partner_id').notNullable();
    t.text('direction').notNullable();
    /** `isa`, `gs` or `st`. */
    t.text('kind').notNullable();
    t.bigInteger('value').notNullable();
    t.primary(['partner_id', 'direction', 'kind']);
  });

  await knex.schema.createTable('x12_interchanges', (t) => {
    t.text('partner_id').notNullable();
    t.text('sender_qualifier').notNullable();
    t.text('sender_id').notNullable();
    t.text('control').notNullable();
    t.uuid('message_id').notNullable().references('messages.id');
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['partner_id', 'sender_qualifier', 'sender_id', 'control']);
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
