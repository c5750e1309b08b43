import type { Knex } from 'knex';

/**
 * Events out (decision 0037): subscribers register webhook URLs per event type, and each event
 * they match is a `deliveries` row of kind `event` in the one outbox.
 * - `event_subscriptions`: who (the ERP, or one partner for its own events), where (a URL on the
 *   owner's allow-list), which types, and the signing secret (sealed under the master key);
 *   `partner_id` is the owning partner, or for the ERP an optional filter (null: every partner).
 * - `deliveries.event`: the event envelope the row carries; `message_id` and `partner_id` become
 *   optional, since an event may concern no message (`credential.expiring`) or no partner.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_subscriptions', (t) => {
    t.uuid('id').primary();
    t.text('owner').notNullable();
    t.text('partner_id');
    t.text('url').notNullable();
    t.specificType('types', 'text[]').notNullable();
    t.jsonb('secret').notNullable();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE event_subscriptions ADD CONSTRAINT event_subscriptions_owner
    CHECK (owner = 'erp' OR (owner = 'partner' AND partner_id IS NOT NULL))`);
  await knex.raw('ALTER TABLE deliveries ALTER COLUMN message_id DROP NOT NULL');
  await knex.raw('ALTER TABLE deliveries ALTER COLUMN partner_id DROP NOT NULL');
  await knex.schema.alterTable('deliveries', (t) => {
    t.jsonb('event');
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
