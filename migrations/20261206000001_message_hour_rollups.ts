import type { Knex } from 'knex';

/**
 * Hourly rollups of inbound traffic for the console's charts (decision 0031): per UTC hour of
 * arrival and partner, the messages received and rejected, their deliveries delivered, and the
 * delivery latencies as a sparse histogram (bucket numbers and their counts, log-spaced buckets).
 * `message_day_rollups` sums the whole days of them. `message_rollup_progress` holds the one watermark: every hour before `rolled_until` is in the
 * rollups; the hours from it on are aggregated from the messages when asked.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('message_hour_rollups', (t) => {
    t.timestamp('hour', { useTz: true }).notNullable();
    t.text('partner_id').notNullable();
    t.integer('received').notNullable();
    t.integer('rejected').notNullable();
    t.integer('delivered').notNullable();
    t.specificType('latency_buckets', 'smallint[]').notNullable();
    t.specificType('latency_counts', 'integer[]').notNullable();
    t.timestamp('computed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['hour', 'partner_id']);
  });
  // The same sums per UTC day, for the 30-day window: a partner's hour holds few deliveries, so its
  // histogram is nearly as long as its latencies; a day's is at most 145 buckets.
  await knex.schema.createTable('message_day_rollups', (t) => {
    t.timestamp('day', { useTz: true }).notNullable();
    t.text('partner_id').notNullable();
    t.integer('received').notNullable();
    t.integer('rejected').notNullable();
    t.integer('delivered').notNullable();
    t.specificType('latency_buckets', 'smallint[]').notNullable();
    t.specificType('latency_counts', 'integer[]').notNullable();
    t.primary(['day', 'partner_id']);
  });
  await knex.schema.createTable('message_rollup_progress', (t) => {
    t.boolean('id').primary().defaultTo(true);
    t.timestamp('rolled_until', { useTz: true }).notNullable();
    t.check('id', [], 'message_rollup_progress_one_row');
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
