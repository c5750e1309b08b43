import type { Knex } from 'knex';

/**
 * Each byte of an SFTP upload is stored once. A file larger than one staged chunk was written twice:
 * staged in `sftp_upload_chunks` as it arrived, then copied into `messages.raw` on close. From now
 * on the staged chunks are the message's bytes: `message_chunks` holds them under the id that the
 * message takes when the file is committed, and such a message's `raw` is NULL.
 * - `first_byte`: where the chunk starts in the file (chunks differ in size; a slice is read
 *   without reading the chunks before it);
 * - `data` is stored uncompressed (EXTERNAL), as `messages.raw`: a slice reads only its pages, and
 *   no CPU goes to compressing 100 MB while the client waits.
 * Uploads staged under the old table (still open, or held as `.part`) move over; nothing else
 * changes for stored messages.
 * @see docs/decisions/0019-sftp-bytes-once.md
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('message_chunks', (t) => {
    t.uuid('message_id').notNullable();
    t.bigInteger('first_byte').notNullable();
    t.binary('data').notNullable();
    t.primary(['message_id', 'first_byte']);
  });
  await knex.raw('ALTER TABLE message_chunks ALTER COLUMN data SET STORAGE EXTERNAL');
  await knex.raw(`
    INSERT INTO message_chunks (message_id, first_byte, data)
    SELECT upload_id, coalesce(sum(length(data)) OVER (PARTITION BY upload_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), data
      FROM sftp_upload_chunks`);
  await knex.schema.dropTable('sftp_upload_chunks');
  await knex.raw('ALTER TABLE messages ALTER COLUMN raw DROP NOT NULL');
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
