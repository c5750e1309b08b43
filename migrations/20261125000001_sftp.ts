import type { Knex } from 'knex';

/**
 * SFTP: uploads staged in the database while they arrive (so any replica can finish them and none
 * holds a large file in memory), held `.part` files, remote pickup schedules, transfer state for
 * outbound documents pushed to a partner's server, and events that belong to a partner rather than
 * to one message (a remote host key that no longer matches).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sftp_uploads', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    t.text('name').notNullable();
    /** `writing`: the client still has the file open; `held`: closed under a temporary name (`x.part`). */
    t.text('state').notNullable();
    t.bigInteger('size_bytes').notNullable().defaultTo(0);
    t.text('sha256');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['partner_id', 'state', 'name']);
  });
  await knex.schema.createTable('sftp_upload_chunks', (t) => {
    t.uuid('upload_id').notNullable().references('sftp_uploads.id').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.binary('data').notNullable();
    t.primary(['upload_id', 'seq']);
  });
  await knex.raw('ALTER TABLE sftp_upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL');

  await knex.schema.createTable('sftp_remote_polls', (t) => {
    t.text('partner_id').primary();
    t.timestamp('next_poll_at', { useTz: true }).notNullable();
    t.timestamp('last_poll_at', { useTz: true });
    t.integer('last_picked').notNullable().defaultTo(0);
    t.text('last_error');
  });

  await knex.schema.alterTable('messages', (t) => {
    /** Outbound documents pushed to a partner's own server: attempts, next try and last error. */
    t.integer('transfer_attempts').notNullable().defaultTo(0);
    t.timestamp('transfer_next_at', { useTz: true });
    t.text('transfer_error');
  });

  await knex.schema.alterTable('events', (t) => {
    t.text('partner_id');
  });
  await knex.raw('ALTER TABLE events ALTER COLUMN message_id DROP NOT NULL');
  await knex.raw('CREATE INDEX events_partner ON events (partner_id, id) WHERE message_id IS NULL');
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
