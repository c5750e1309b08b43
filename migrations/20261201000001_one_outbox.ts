import type { Knex } from 'knex';

/**
 * One outbox: every transfer that leaves the gateway is a `deliveries` row claimed by one worker.
 * Until now AS2 sends kept their queue in `as2_messages` (status, next_at, attempts) and
 * `messages.transfer_*`, pushes to partners' SFTP servers in `messages.transfer_*`, and the
 * asynchronous MDNs we owe in `as2_messages`. This moves every such transfer, in whatever state it
 * is, into `deliveries`, then drops the old retry columns:
 * - a delivery no longer needs a document (`document_id` null for mailbox pushes and MDNs);
 * - `waiting`: sent, the answer (an asynchronous MDN) awaited until `next_attempt_at`, then sent again;
 * - AS2 sends: `sending` → pending (at its next try), `pending` (MDN awaited) → waiting,
 *   `processed`/`sent` → delivered, `failed`/`mic-invalid` → dead (replayable);
 * - SFTP pushes already attempted: pending at their next try, or delivered if collected;
 * - MDNs we owe: pending/sent/failed → pending/delivered/dead.
 * Pushes never attempted are queued when the gateway starts (it knows the partners' push settings).
 * In-flight rows get a fresh maximum age (`queued_at` now): the policy counts from the move.
 * @see docs/decisions/0016-one-outbox.md
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE deliveries ALTER COLUMN document_id DROP NOT NULL');
  await knex.raw(`CREATE INDEX deliveries_waiting ON deliveries (next_attempt_at) WHERE state = 'waiting'`);
  await moveAs2Sends(knex);
  await moveSftpPushes(knex);
  await moveOwedMdns(knex);
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumns('transfer_attempts', 'transfer_next_at', 'transfer_error');
  });
  await knex.schema.alterTable('as2_messages', (t) => {
    t.dropColumns('attempts', 'next_at', 'last_error');
  });
}

/** Columns every moved row sets, in this order. */
const COLUMNS = `id, document_id, message_id, partner_id, target_id, target, idempotency_key, state, attempts, max_attempts,
                 next_attempt_at, last_error, last_error_code, delivered_at, queued_at, created_at, updated_at`;

async function moveAs2Sends(knex: Knex): Promise<void> {
  await knex.raw(
    `INSERT INTO deliveries (${COLUMNS})
     SELECT gen_random_uuid(), NULL, a.message_id, a.partner_id, 'as2:' || a.partner_id,
            jsonb_build_object('kind', 'as2', 'id', 'as2:' || a.partner_id), 'as2:' || a.message_id,
            CASE a.status WHEN 'sending' THEN 'pending' WHEN 'pending' THEN 'waiting' WHEN 'processed' THEN 'delivered' WHEN 'sent' THEN 'delivered'
                          ELSE 'dead' END,
            greatest(a.attempts, m.transfer_attempts), NULL,
            CASE a.status WHEN 'sending' THEN coalesce(m.transfer_next_at, now()) WHEN 'pending' THEN now() + interval '1 hour' ELSE now() END,
            coalesce(a.last_error, regexp_replace(m.transfer_error, '^GW_[A-Z0-9_]+: ', '')),
            CASE WHEN a.status = 'failed' AND m.transfer_error LIKE 'GW_AS2_SEND:%' THEN 'GW_AS2_SEND'
                 WHEN a.status IN ('failed', 'mic-invalid') THEN 'GW_AS2_MDN'
                 WHEN a.status = 'sending' AND m.transfer_error IS NOT NULL THEN 'GW_AS2_SEND' END,
            CASE WHEN a.status IN ('processed', 'sent') THEN coalesce(m.collected_at, a.updated_at) END,
            CASE WHEN a.status IN ('sending', 'pending') THEN now() ELSE a.created_at END, a.created_at, now()
       FROM as2_messages a JOIN messages m ON m.id = a.message_id
      WHERE a.direction = 'outbound'`,
  );
}

async function moveSftpPushes(knex: Knex): Promise<void> {
  await knex.raw(
    `INSERT INTO deliveries (${COLUMNS})
     SELECT gen_random_uuid(), NULL, m.id, m.partner_id, 'sftp:' || m.partner_id,
            jsonb_build_object('kind', 'sftp', 'id', 'sftp:' || m.partner_id), 'sftp:' || m.id,
            CASE WHEN m.collected_at IS NOT NULL THEN 'delivered' ELSE 'pending' END,
            m.transfer_attempts, NULL, coalesce(m.transfer_next_at, now()),
            regexp_replace(m.transfer_error, '^GW_[A-Z0-9_]+: ', ''), substring(m.transfer_error FROM '^(GW_[A-Z0-9_]+): '),
            m.collected_at, CASE WHEN m.collected_at IS NULL THEN now() ELSE m.received_at END, m.received_at, now()
       FROM messages m
      WHERE m.direction = 'outbound'
        AND (m.transfer_attempts > 0 OR m.transfer_next_at IS NOT NULL OR m.transfer_error IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM as2_messages a WHERE a.message_id = m.id AND a.direction = 'outbound')`,
  );
}

async function moveOwedMdns(knex: Knex): Promise<void> {
  await knex.raw(
    `INSERT INTO deliveries (${COLUMNS})
     SELECT gen_random_uuid(), NULL, a.message_id, a.partner_id, 'as2-mdn:' || a.partner_id,
            jsonb_build_object('kind', 'as2-mdn', 'id', 'as2-mdn:' || a.partner_id, 'url', a.mdn_url, 'record', a.id), 'as2-mdn:' || a.id,
            CASE a.status WHEN 'pending' THEN 'pending' WHEN 'sent' THEN 'delivered' ELSE 'dead' END,
            a.attempts, NULL, coalesce(a.next_at, now()), a.last_error, CASE WHEN a.last_error IS NOT NULL THEN 'GW_AS2_SEND' END,
            CASE WHEN a.status = 'sent' THEN a.updated_at END,
            CASE WHEN a.status = 'pending' THEN now() ELSE a.created_at END, a.created_at, now()
       FROM as2_messages a
      WHERE a.direction = 'inbound' AND a.mdn_mode = 'async' AND a.mdn IS NOT NULL AND a.mdn_url IS NOT NULL`,
  );
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
