import type { Knex } from 'knex';

/**
 * Rate-limit token buckets shared by every replica (decision 0041): one small row per key (a
 * partner, an address at the token endpoint or the webhook door), updated in place by one upsert.
 * UNLOGGED: no write-ahead log per request; after a crash of PostgreSQL the table is empty, which
 * gives every key a full bucket once. No index beside the key, so updates stay HOT (fillfactor 50
 * leaves room on the page for the new row version).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_buckets', (t) => {
    t.text('key').primary();
    t.double('tokens').notNullable();
    t.double('per_minute').notNullable();
    t.bigInteger('at_ms').notNullable();
    t.integer('granted').notNullable();
  });
  await knex.raw('ALTER TABLE rate_buckets SET UNLOGGED, SET (fillfactor = 50)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_buckets');
}
