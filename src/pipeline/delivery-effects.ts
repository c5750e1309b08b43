import type { Knex } from 'knex';
import type { FinalDeliveryState, OutboxItem } from '../delivery/transport.js';
import { markCollected, markDeliveredIfComplete, setMessageState } from './messages.js';

/*
 * What a delivery's final outcome does to its message, run in the transaction that records it.
 * The server hands these to the transports of each kind (their `settle`).
 */

/**
 * ERP deliveries: the message is delivered once none of its document deliveries is outstanding
 * (an MDN we owe the partner is not one of them), and dead (replayable) when one goes to dead letter.
 */
export async function documentDeliverySettled(trx: Knex.Transaction, item: OutboxItem, state: FinalDeliveryState): Promise<void> {
  if (state === 'dead') await setMessageState(trx, item.messageId, 'dead');
  else await markDeliveredIfComplete(trx, item.messageId);
}

/**
 * Pushes of a mailbox document to the partner (AS2, its SFTP server): collected once there. A dead
 * push leaves the document `ready` in the mailbox (the partner may still collect it); the dead
 * delivery is what operations see and replay.
 */
export async function pushSettled(trx: Knex.Transaction, item: OutboxItem, state: FinalDeliveryState): Promise<void> {
  if (state === 'delivered') await markCollected(trx, item.messageId);
}
