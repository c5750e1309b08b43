import type { Knex } from 'knex';

/**
 * Indexes for the operations API's searches (decision 0024): messages newest first by
 * (received_at, id) for keyset pages, alone and within a state; each business key an operator
 * types, where no index reaches it without a partner; dead letters newest first; overdue acks.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX messages_received_id ON messages (received_at, id)');
  await knex.raw('CREATE INDEX messages_state_received_id ON messages (state, received_at, id)');
  await knex.raw('CREATE INDEX messages_correlation_id ON messages (correlation_id)');
  await knex.raw('CREATE INDEX messages_idempotency_key ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL');
  await knex.raw('CREATE INDEX messages_file_name ON messages (file_name) WHERE file_name IS NOT NULL');
  await knex.raw('CREATE INDEX messages_x12_interchange ON messages (x12_interchange) WHERE x12_interchange IS NOT NULL');
  await knex.raw(`CREATE INDEX messages_ack_overdue ON messages (received_at, id) WHERE ack_status = 'overdue'`);
  await knex.raw('CREATE INDEX documents_document_number ON documents (document_number) WHERE document_number IS NOT NULL');
  await knex.raw('CREATE INDEX x12_interchanges_control ON x12_interchanges (control)');
  await knex.raw('CREATE INDEX as2_messages_as2_message_id ON as2_messages (as2_message_id)');
  await knex.raw(`CREATE INDEX deliveries_dead ON deliveries (updated_at, id) WHERE state = 'dead'`);
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
