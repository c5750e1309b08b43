import type { Knex } from 'knex';
import { anyDelivered, deliveriesUnderWay, dropDocumentDeliveries, queueRedeliveries, redeliverDead } from '../delivery/outbox.js';
import { GatewayError } from '../errors.js';
import { recordEvents } from '../observability/events.js';
import { notify } from '../store/signals.js';
import { resetForInterpretation, setMessageState } from './messages.js';
import { deleteDocuments } from './documents.js';

export interface ReplayOutcome {
  messageId: string;
  action: 'reinterpret' | 'redeliver';
  /** Deliveries put back in the queue, or queued anew (redeliver). */
  deliveries: number;
}

interface LockedMessage {
  id: string;
  state: string;
  format: string;
}

/** The message, locked for the transaction (one action at a time on one message); a partner's scope hides the others'. */
async function lockMessage(trx: Knex.Transaction, messageId: string, partnerId?: string): Promise<LockedMessage> {
  const q = trx('messages').select('id', 'state', 'format').where('id', messageId).forUpdate();
  if (partnerId) q.andWhere('partner_id', partnerId);
  const msg = await q.first();
  if (!msg) throw new GatewayError('GW_NOT_FOUND', `No message ${messageId}.`);
  return msg;
}

/**
 * Makes a failed message move again (`gateway replay`):
 * - with dead deliveries (to the ERP, pushes to the partner, MDNs we owe): put them back in the queue
 *   with fresh attempts and a fresh maximum age; their idempotency keys (and an AS2 send's
 *   Message-ID) are unchanged, so the receiver sees the same key again.
 * - `rejected` or `failed`: interpret it anew from its stored raw bytes (reinterpretMessage).
 */
export async function replayMessage(knex: Knex, messageId: string, opts: { partnerId?: string } = {}): Promise<ReplayOutcome> {
  return knex.transaction(async (trx) => {
    const msg = await lockMessage(trx, messageId, opts.partnerId);
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
    return reinterpretLocked(trx, msg);
  });
}

/**
 * Replay in the operations API and console (decision 0030): interpret a rejected or failed message
 * anew from its stored raw bytes (after a profile fix). Nothing else: a dead delivery is redelivered.
 */
export async function reinterpretMessage(knex: Knex, messageId: string): Promise<ReplayOutcome> {
  return knex.transaction(async (trx) => reinterpretLocked(trx, await lockMessage(trx, messageId)));
}

async function reinterpretLocked(trx: Knex.Transaction, msg: LockedMessage): Promise<ReplayOutcome> {
  const messageId = msg.id;
  // Refused at the AS2 door (signature, encryption, agreement): its MDN told the partner so, and a
  // message that failed authentication must never reach the ERP; the partner sends it again.
  if (msg.format === 'as2')
    throw new GatewayError('GW_REPLAY_STATE', `Message ${messageId} was refused at the AS2 door; the partner was told in its MDN and sends it again.`);
  if (msg.state !== 'rejected' && msg.state !== 'failed')
    throw new GatewayError(
      'GW_REPLAY_STATE',
      `Message ${messageId} is ${msg.state}; only rejected or failed messages are interpreted again (a dead delivery is redelivered).`,
    );
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

/**
 * Redeliver (decision 0030): send the message's canonical documents again to their targets, as new
 * outbox rows: its dead document deliveries when it has some, else its delivered ones. Refused while
 * one is still on its way, and when there is nothing to send (no document delivered nor dead).
 */
export async function redeliverMessage(knex: Knex, messageId: string): Promise<ReplayOutcome> {
  return knex.transaction(async (trx) => {
    const msg = await lockMessage(trx, messageId);
    const underWay = await deliveriesUnderWay(trx, messageId);
    if (underWay > 0)
      throw new GatewayError(
        'GW_REPLAY_STATE',
        `Message ${messageId} has ${underWay} deliver${underWay === 1 ? 'y' : 'ies'} still on the way; wait for them to end.`,
      );
    // The dead ones when there are (the receiver was down); else every delivered one (the receiver lost them).
    const dead = await queueRedeliveries(trx, messageId, 'dead');
    const rows = dead.length ? dead : await queueRedeliveries(trx, messageId, 'delivered');
    if (!rows.length)
      throw new GatewayError('GW_REPLAY_STATE', `Message ${messageId} (${msg.state}) has no delivered or dead document delivery to send again.`);
    // The message is delivered again once the new rows are (markDeliveredIfComplete ignores the rows they replace).
    if (msg.state === 'dead' || msg.state === 'delivered') await setMessageState(trx, messageId, 'routed');
    await recordEvents(trx, [
      {
        message_id: messageId,
        type: 'redelivered',
        detail: `${rows.length} document deliver${rows.length === 1 ? 'y' : 'ies'} queued again: ${rows.map((r) => r.idempotencyKey).join(', ')}`,
      },
    ]);
    await notify(trx, 'deliveries');
    return { messageId, action: 'redeliver', deliveries: rows.length };
  });
}
