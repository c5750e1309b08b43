import type { Knex } from 'knex';

/**
 * When each credential (stored or listed in a profile, by kind and reference) last authenticated
 * someone; written in batches (src/security/credential-usage.ts), read by the security pages.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credential_usage', (t) => {
    t.text('kind').notNullable();
    t.text('ref').notNullable();
    t.timestamp('last_used_at', { useTz: true }).notNullable();
    t.primary(['kind', 'ref']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('credential_usage');
}
