import type { Knex } from 'knex';
import type { FinalDeliveryState, OutboxItem } from '../delivery/transport.js';
import { publishDocumentsDelivered } from './business-events.js';
import { markCollected, markDeliveredIfComplete, setMessageState } from './messages.js';

/*
 * What a delivery's final outcome does to its message, run in the transaction that records it.
 * The server hands these to the transports of each kind (their `settle`).
 */

/**
 * ERP deliveries: the message is delivered once none of its document deliveries is outstanding
 * (an MDN we owe the partner is not one of them), and dead (replayable) when one goes to dead letter.
 * Each delivered document is a `document.delivered` event for its subscribers.
 */
export async function documentDeliverySettled(trx: Knex.Transaction, items: readonly OutboxItem[], state: FinalDeliveryState): Promise<void> {
  const ids = [...new Set(items.map((i) => i.messageId))];
  if (state === 'dead') for (const id of ids) await setMessageState(trx, id, 'dead');
  else {
    await markDeliveredIfComplete(trx, ids);
    await publishDocumentsDelivered(trx, items);
  }
}

/**
 * Pushes of a mailbox document to the partner (AS2, its SFTP server): collected once there. A dead
 * push leaves the document `ready` in the mailbox (the partner may still collect it); the dead
 * delivery is what operations see and replay.
 */
export async function pushSettled(trx: Knex.Transaction, items: readonly OutboxItem[], state: FinalDeliveryState): Promise<void> {
  if (state === 'delivered') for (const item of items) await markCollected(trx, item.messageId);
}
