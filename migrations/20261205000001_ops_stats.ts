import type { Knex } from 'knex';

/**
 * The console's charts (decision 0031) count the inbound messages of a window by time, partner and
 * state: this index holds exactly those columns, so the count reads the index alone (an index-only
 * scan of the window) and never the messages' rows with their raw bytes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX messages_inbound_received ON messages (received_at) INCLUDE (partner_id, state) WHERE direction = 'inbound'`);
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
