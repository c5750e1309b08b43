import type { Knex } from 'knex';
import type { OutboxItem } from './transport.js';

/*
 * What a delivery's final outcome does to its message, run in the transaction that records it.
 * Transports pick the one that fits their kind.
 */

/**
 * ERP deliveries: the message is delivered once none of its document deliveries is outstanding
 * (an MDN we owe the partner is not one of them), and dead (replayable) when one goes to dead letter.
 */
export async function documentDeliverySettled(trx: Knex.Transaction, item: OutboxItem, state: 'delivered' | 'dead'): Promise<void> {
  if (state === 'dead') {
    await trx('messages').where('id', item.messageId).update({ state: 'dead', updated_at: trx.fn.now() });
    return;
  }
  await trx.raw(
    `UPDATE messages SET state = 'delivered', updated_at = now()
      WHERE id = :id AND state = 'routed'
        AND NOT EXISTS (SELECT 1 FROM deliveries WHERE message_id = :id AND document_id IS NOT NULL AND state <> 'delivered')`,
    { id: item.messageId },
  );
}

/**
 * Pushes of a mailbox document to the partner (AS2, its SFTP server): collected once there. A dead
 * push leaves the document `ready` in the mailbox (the partner may still collect it); the dead
 * delivery is what operations see and replay.
 */
export async function pushSettled(trx: Knex.Transaction, item: OutboxItem, state: 'delivered' | 'dead'): Promise<void> {
  if (state === 'dead') return;
  await trx('messages')
    .where('id', item.messageId)
    .whereNull('collected_at')
    .update({ state: 'collected', collected_at: trx.fn.now(), updated_at: trx.fn.now() });
}
