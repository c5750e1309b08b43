import type { Knex } from 'knex';

/**
 * Hourly rollups of inbound traffic for the console's charts (decision 0031): per UTC hour of
 * arrival and partner, the messages received and rejected, their deliveries delivered, and the
 * delivery latencies as a sparse histogram (bucket numbers and their counts, log-spaced buckets).
 * `message_rollup_progress` holds the one watermark: every hour before `rolled_until` is in the
 * rollups; the hours from it on are aggregated from the messages when asked.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE message_hour_rollups (
      hour timestamptz NOT NULL,
      partner_id text NOT NULL,
      received integer NOT NULL,
      rejected integer NOT NULL,
      delivered integer NOT NULL,
      latency_buckets smallint[] NOT NULL,
      latency_counts integer[] NOT NULL,
      computed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (hour, partner_id)
    )`);
  await knex.raw(`
    CREATE TABLE message_rollup_progress (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      rolled_until timestamptz NOT NULL
    )`);
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
