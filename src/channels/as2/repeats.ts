import type { Knex } from 'knex';
import { requeueOwedMdn } from '../../delivery/outbox.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { recordEvents } from '../../observability/events.js';
import type { As2Response } from './inbound.js';
import { parseEntity } from '../../formats/as2/mime.js';

/**
 * Repeats of an AS2 Message-ID (RFC 4130 §9.4 asks receivers to detect them). A repeat is judged
 * on what it carries, not on its bytes: a sender that signs and encrypts the same document again
 * on retry (a new session key, a new signing time) sends other bytes with the same payload.
 */

/** The accepted inbound message under a Message-ID, as the repeat checks need it. */
export interface Earlier {
  id: string;
  message_id: string;
  body_sha256: string;
  payload_sha256: string | null;
  mic: string | null;
  mic_alg: string | null;
  mdn: Buffer | null;
  mdn_mode: string;
  mdn_url: string | null;
}

/** The accepted inbound message under `as2MessageId`, if any; a store that cannot answer is a 503. */
export async function acceptedEarlier(knex: Knex, partnerId: string, as2MessageId: string): Promise<Earlier | undefined> {
  try {
    return await knex('as2_messages')
      .select('id', 'message_id', 'body_sha256', 'payload_sha256', 'mic', 'mic_alg', 'mdn', 'mdn_mode', 'mdn_url')
      .where({ partner_id: partnerId, direction: 'inbound', as2_message_id: as2MessageId, accepted: true })
      .whereNull('duplicate_of')
      .first();
  } catch (err) {
    if (isGatewayError(err)) throw err;
    throw new GatewayError('GW_STORE_UNAVAILABLE', 'The message store is not reachable; nothing was accepted. Send the message again later.', { cause: err });
  }
}

/**
 * Answers a repeat with the MDN its first copy got: the same bytes again (synchronous), queued again
 * (asynchronous), or a plain acknowledgment (none asked for). Nothing is delivered again; the first
 * copy's timeline says so.
 */
export async function answerWithOriginal(knex: Knex, earlier: Earlier, as2MessageId: string, how: string): Promise<As2Response> {
  await knex.transaction(async (trx) => {
    const mdn = earlier.mdn_mode === 'async' ? 'queued again' : earlier.mdn_mode === 'sync' ? 'returned' : 'not requested';
    await recordEvents(trx, [
      {
        message_id: earlier.message_id,
        type: 'as2.duplicate',
        detail: `AS2 ${as2MessageId} received again ${how}; the original MDN was ${mdn}, nothing was delivered again`,
      },
    ]);
    if (earlier.mdn_mode === 'async') {
      await trx('as2_messages').where('id', earlier.id).update({ status: 'pending', updated_at: trx.fn.now() });
      await requeueOwedMdn(trx, earlier.id);
    }
  });
  if (earlier.mdn_mode === 'sync' && earlier.mdn) {
    const stored = parseEntity(earlier.mdn);
    return { status: 200, headers: [...stored.headers].map(([k, v]) => [k, v] as [string, string]), body: stored.body };
  }
  return plainAnswer(earlier.mdn_mode);
}

/** The answer when no synchronous MDN is due. */
export function plainAnswer(mode: string): As2Response {
  return {
    status: 200,
    headers: [['Content-Type', 'text/plain']],
    body: Buffer.from(mode === 'async' ? 'Accepted; the MDN follows asynchronously.\r\n' : 'Accepted.\r\n'),
  };
}

/** True when the repeat's MIC and MDN request are those of the first copy, so its MDN answers both. */
export function originalMdnFits(earlier: Earlier, repeat: { mic?: string; micAlg?: string; mode: string; url?: string }): boolean {
  return (
    earlier.mic === (repeat.mic ?? null) &&
    earlier.mic_alg === (repeat.micAlg ?? null) &&
    earlier.mdn_mode === repeat.mode &&
    (repeat.mode !== 'async' || earlier.mdn_url === repeat.url)
  );
}
