import type { Knex } from 'knex';
import { anyDelivered, dropDocumentDeliveries, redeliverDead } from '../delivery/outbox.js';
import { GatewayError } from '../errors.js';
import { recordEvents } from '../observability/events.js';
import { notify } from '../store/signals.js';
import { resetForInterpretation, setMessageState } from './messages.js';
import { deleteDocuments } from './documents.js';

export interface ReplayOutcome {
  messageId: string;
  action: 'reinterpret' | 'redeliver';
  /** Deliveries put back in the queue (redeliver). */
  deliveries: number;
}

/**
 * Makes a failed message move again:
 * - `rejected` or `failed`: interpret it anew from its stored raw bytes (after a profile fix);
 *   the documents of the earlier attempt are removed, the timeline keeps their story.
 * - with dead deliveries (to the ERP, pushes to the partner, MDNs we owe): put them back in the queue
 *   with fresh attempts and a fresh maximum age; their idempotency keys (and an AS2 send's
 *   Message-ID) are unchanged, so the receiver sees the same key again.
 */
export async function replayMessage(knex: Knex, messageId: string, opts: { partnerId?: string } = {}): Promise<ReplayOutcome> {
  return knex.transaction(async (trx) => {
    const q = trx('messages').select('id', 'state', 'format').where('id', messageId).forUpdate();
    if (opts.partnerId) q.andWhere('partner_id', opts.partnerId);
    const msg = await q.first();
    if (!msg) throw new GatewayError('GW_NOT_FOUND', `No message ${messageId}.`);
    const n = await redeliverDead(trx, messageId);
    if (n > 0) {
      // A dead ERP delivery made its message dead; a dead push or MDN left its message as it was.
      if (msg.state === 'dead') await setMessageState(trx, messageId, 'routed');
      await recordEvents(trx, [
        {
          message_id: messageId,
          type: 'replayed',
          detail: `${n} dead deliver${n === 1 ? 'y' : 'ies'} queued again with the same idempotency keys`,
        },
      ]);
      // The running gateway (a replay often comes from the CLI, another process) sends them at once.
      await notify(trx, 'deliveries');
      return { messageId, action: 'redeliver', deliveries: n };
    }
    // Refused at the AS2 door (signature, encryption, agreement): its MDN told the partner so, and a
    // message that failed authentication must never reach the ERP; the partner sends it again.
    if (msg.format === 'as2')
      throw new GatewayError('GW_REPLAY_STATE', `Message ${messageId} was refused at the AS2 door; the partner was told in its MDN and sends it again.`);
    if (msg.state === 'rejected' || msg.state === 'failed') {
      const docs = () => trx('documents').select('id').where('message_id', messageId);
      if (await anyDelivered(trx, docs()))
        throw new GatewayError('GW_REPLAY_STATE', `Message ${messageId} has delivered documents; it cannot be interpreted again.`);
      await dropDocumentDeliveries(trx, messageId, docs());
      await deleteDocuments(trx, messageId);
      await resetForInterpretation(trx, messageId);
      await recordEvents(trx, [{ message_id: messageId, type: 'replayed', detail: `was ${msg.state}; interpreting again from the stored raw bytes` }]);
      await notify(trx, 'messages');
      return { messageId, action: 'reinterpret', deliveries: 0 };
    }
    throw new GatewayError(
      'GW_REPLAY_STATE',
      `Message ${messageId} is ${msg.state} and has no dead delivery; only rejected or failed messages and dead deliveries are replayed.`,
    );
  });
}
