import type { Knex } from 'knex';

/**
 * The webhook replay window (table `webhook_requests`): each signed request a partner sent, kept
 * until its timestamp can no longer verify. A request is the partner, its timestamp and its body
 * (see signedContentDigest), not the signature that matched, so a request signed with two secrets
 * during a rotation cannot come again with one signature removed.
 */
export interface WebhookRequest {
  partnerId: string;
  /** SHA-256 of `<timestamp>.<body>`: what the signatures sign. */
  digest: string;
  /** When the timestamp falls outside the tolerance and the row may be forgotten. */
  expiresAt: Date;
}

/**
 * Remembers a signed request, in the transaction that stores its message, after forgetting the
 * partner's expired ones. False when the request is already remembered: a replay.
 */
export async function recordWebhookRequest(trx: Knex.Transaction, request: WebhookRequest): Promise<boolean> {
  await trx('webhook_requests').where('partner_id', request.partnerId).where('expires_at', '<', new Date()).del();
  const fresh = await trx('webhook_requests')
    .insert({ partner_id: request.partnerId, content_sha256: request.digest, expires_at: request.expiresAt })
    .onConflict(['partner_id', 'content_sha256'])
    .ignore()
    .returning('content_sha256');
  return fresh.length > 0;
}

/** Whether a signed request of the partner is remembered (committed by an earlier transaction). */
export async function seenWebhookRequest(knex: Knex, partnerId: string, digest: string): Promise<boolean> {
  return Boolean(await knex('webhook_requests').where({ partner_id: partnerId, content_sha256: digest }).first('partner_id'));
}
