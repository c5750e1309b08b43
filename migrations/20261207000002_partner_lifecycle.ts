import type { Knex } from 'knex';

/**
 * The lifecycle of each partner (decision 0034): onboarding → testing → live (→ suspended), and the
 * named person who approved its go-live. A partner the table has never seen takes the `state` of its
 * profile; a row is written at its first move. partners/<id>.yaml stays the configuration; a YAML
 * `state: suspended` always wins over this table (the operator's brake).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('partner_lifecycle', (t) => {
    t.text('partner_id').primary();
    t.text('state').notNullable();
    /** When it last entered testing: documents accepted from then on (until go-live) count as its test messages. */
    t.timestamp('testing_since', { useTz: true });
    t.timestamp('live_since', { useTz: true });
    t.text('approved_by');
    t.timestamp('approved_at', { useTz: true });
    t.text('changed_by').notNullable();
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE partner_lifecycle
    ADD CONSTRAINT partner_lifecycle_state CHECK (state IN ('onboarding', 'testing', 'live', 'suspended'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('partner_lifecycle');
}
