import type { Knex } from 'knex';

/**
 * AS2: every message exchanged with its Message-ID, the original as it crossed the wire (signed,
 * encrypted) and the MDN that answered it, kept for non-repudiation; async MDNs still to send; and
 * the MDN state of what we sent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('as2_messages', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    t.text('direction').notNullable();
    /** The AS2 Message-ID, angle brackets included, exactly as sent. */
    t.text('as2_message_id').notNullable();
    /** The gateway message: the payload received, the refused original, or the mailbox document sent. */
    t.uuid('message_id').notNullable().references('messages.id');
    /** SHA-256 of the HTTP body: a repeated Message-ID with the same body is a retransmission. */
    t.text('body_sha256').notNullable();
    /** Headers and body as they crossed the wire. */
    t.binary('original').notNullable();
    /** What was protected: signed, encrypted, compressed, in order from the outside in. */
    t.specificType('layers', 'text[]').notNullable().defaultTo('{}');
    /** Received-Content-MIC: base64 digest and algorithm (`sha-256`). */
    t.text('mic');
    t.text('mic_alg');
    /** Inbound: the disposition we answered; outbound: the one the partner answered. */
    t.text('disposition');
    /** Inbound: true when the payload was accepted (a repeat returns the same MDN). */
    t.boolean('accepted').notNullable().defaultTo(false);
    /** The MDN (headers and body): the one we sent, or the one we received. */
    t.binary('mdn');
    /** sync, async or none. */
    t.text('mdn_mode').notNullable();
    t.text('mdn_url');
    /**
     * Inbound async: pending → sent | failed. Outbound: sending → pending (waiting for the MDN) →
     * processed | failed | mic-invalid; or sent (no MDN asked for).
     */
    t.text('status').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_at', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['message_id']);
  });
  // One accepted inbound message per Message-ID (concurrent repeats serialize here); refused ones may be sent again.
  await knex.raw(`CREATE UNIQUE INDEX as2_inbound_accepted ON as2_messages (partner_id, as2_message_id) WHERE direction = 'inbound' AND accepted`);
  await knex.raw(`CREATE UNIQUE INDEX as2_outbound_id ON as2_messages (partner_id, as2_message_id) WHERE direction = 'outbound'`);
  await knex.raw(`CREATE INDEX as2_due ON as2_messages (next_at) WHERE status IN ('pending', 'sending') AND next_at IS NOT NULL`);
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
