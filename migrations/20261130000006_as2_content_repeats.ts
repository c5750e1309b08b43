import type { Knex } from 'knex';

/**
 * AS2 repeats judged on content: a sender that signs and encrypts the same document again on retry
 * sends other bytes under the same Message-ID. The hash of the payload it carried tells such a
 * retransmission from new content; the MDN answering the repeat is kept on its own row.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('as2_messages', (t) => {
    /** Inbound, accepted: SHA-256 of the innermost payload (layers opened, transfer encoding undone). */
    t.text('payload_sha256');
    /** Inbound: the accepted row this message repeats (same payload, other bytes); nothing was delivered again. */
    t.uuid('duplicate_of').references('as2_messages.id');
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
