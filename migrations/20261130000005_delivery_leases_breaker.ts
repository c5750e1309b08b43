import type { Knex } from 'knex';

/**
 * Delivery reliability: an age bound instead of a fixed attempt count, and a circuit breaker per
 * target.
 * - `deliveries.queued_at`: when the delivery was queued (or queued again by a replay); its maximum
 *   age counts from here. Existing rows start from their creation.
 * - `deliveries.max_attempts` may be null: no attempt cap, only the age bound.
 * - `delivery_targets`: one row per target id that has failed: consecutive failures, and whether
 *   the target is paused (`open` until `open_until`, then `probing` with one delivery) or `closed`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.timestamp('queued_at', { useTz: true });
  });
  await knex.raw('UPDATE deliveries SET queued_at = created_at');
  await knex.raw(
    'ALTER TABLE deliveries ALTER COLUMN queued_at SET DEFAULT now(), ALTER COLUMN queued_at SET NOT NULL, ALTER COLUMN max_attempts DROP NOT NULL',
  );
  // A crashed worker's rows are found by their lapsed lease; a paused target's next probe by target.
  await knex.raw(`CREATE INDEX deliveries_leased ON deliveries (locked_at) WHERE state = 'delivering'`);
  await knex.raw(`CREATE INDEX deliveries_target_pending ON deliveries (target_id, next_attempt_at) WHERE state = 'pending'`);

  await knex.schema.createTable('delivery_targets', (t) => {
    t.text('target_id').primary();
    t.text('state').notNullable().defaultTo('closed');
    t.integer('failures').notNullable().defaultTo(0);
    t.timestamp('opened_at', { useTz: true });
    t.timestamp('open_until', { useTz: true });
    t.text('last_error');
    t.text('last_error_code');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE delivery_targets ADD CONSTRAINT delivery_targets_state CHECK (state IN ('closed', 'open', 'probing'))`);
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
