import type { Knex } from 'knex';

/**
 * The webhook replay window remembers each signed request (partner, timestamp and body), not the
 * signature that matched: a request signed with two secrets during a rotation cannot be presented
 * again with one signature removed. The row is written in the transaction that stores the message.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_requests', (t) => {
    t.text('partner_id').notNullable();
    /** SHA-256 of `<timestamp>.<body>`: what the signatures sign. */
    t.text('content_sha256').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['partner_id', 'content_sha256']);
    t.index(['expires_at']);
  });
  await knex.schema.dropTable('webhook_signatures');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_signatures', (t) => {
    t.text('sha256').primary();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  await knex.schema.dropTable('webhook_requests');
}
