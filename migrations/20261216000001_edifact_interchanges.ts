import type { Knex } from 'knex';

/**
 * EDIFACT interchanges seen, for duplicate detection (decision 0043): one row per partner, UNB sender
 * (0004 and its qualifier 0007, '' when absent) and interchange control reference (0020), as
 * x12_interchanges does for ISA13.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('edifact_interchanges', (t) => {
    t.text('partner_id').notNullable();
    t.text('sender_qualifier').notNullable();
    t.text('sender_id').notNullable();
    t.text('control_ref').notNullable();
    t.uuid('message_id').notNullable().references('messages.id');
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['partner_id', 'sender_qualifier', 'sender_id', 'control_ref']);
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
