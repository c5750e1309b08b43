import type { Context } from 'koa';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Inbound, Receipt, Receiver } from '../../pipeline/receive.js';
import type { Principal } from '../../security/api-keys.js';
import { mayWriteAny, WRITE_SCOPES } from '../../security/scopes.js';
import type { PartnerProfile, SourceFormat } from '../../types.js';
import { idempotencyKeyOf, mediaTypeOf, readBody, requestId } from './request.js';

export interface MessageIntakeDeps {
  receiver: Receiver;
  config: () => GatewayConfig;
  /** Hard cap on any body, whatever a partner profile allows. */
  maxBodyBytes: number;
}

/**
 * Takes a partner's message over REST or a webhook: media type, write scopes, size limit, then the
 * receiver (or `store`, which a webhook uses to remember its signed request in the same
 * transaction), and answers 202 with the status URL. No parsing happens here.
 */
export async function acceptMessage(
  ctx: Context,
  d: MessageIntakeDeps,
  principal: Principal,
  o: { channel: 'rest' | 'webhook'; bytes?: Buffer; store?: (inbound: Inbound) => Promise<Receipt> },
): Promise<void> {
  const { partner } = principal;
  const mediaType = mediaTypeOf(ctx);
  const format = MEDIA_TYPES[mediaType];
  if (!format)
    throw new GatewayError(
      'GW_REQUEST_MEDIA_TYPE',
      `Content-Type "${mediaType || '(none)'}" is not accepted; send one of ${Object.keys(MEDIA_TYPES).join(', ')}.`,
    );
  requireWriteScope(d.config(), principal, format);
  const bytes = o.bytes ?? (await readBody(ctx, Math.min(partner.limits.maxBytes, d.maxBodyBytes), ` for partner ${partner.id}`));
  if (bytes.length === 0) throw new GatewayError('GW_REQUEST_INVALID', 'The body is empty.');
  const correlationId = requestId(ctx);
  const idempotencyKey = idempotencyKeyOf(ctx);
  const store = o.store ?? ((inbound: Inbound) => d.receiver.receive(inbound));
  const receipt = await store({
    partnerId: partner.id,
    channel: o.channel,
    contentType: mediaType,
    format,
    bytes,
    scopes: [...principal.scopes],
    ...(correlationId ? { correlationId } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  const statusUrl = `/v1/messages/${receipt.messageId}`;
  ctx.status = 202;
  ctx.set('location', statusUrl);
  if (receipt.duplicate) ctx.set('idempotent-replayed', 'true');
  ctx.body = { messageId: receipt.messageId, correlationId: receipt.correlationId, statusUrl, duplicate: receipt.duplicate };
}

/** The document types a message in this format could become for the partner (its inbound profiles of that format). */
function candidateTypes(config: GatewayConfig, partner: Readonly<PartnerProfile>, format: SourceFormat) {
  return partner.inbound.filter((i) => config.mappings.get(i.mapping)?.source.format === format).map((i) => i.type);
}

/** Refuses a message none of whose possible document types the scopes allow writing (the REST door's and the portal's upload). */
export function requireWriteScope(config: GatewayConfig, principal: Pick<Principal, 'partner' | 'scopes'>, format: SourceFormat): void {
  const types = candidateTypes(config, principal.partner, format);
  if (types.length && !mayWriteAny(principal.scopes, types))
    throw new GatewayError(
      'GW_AUTH_SCOPE',
      `Sending ${format} as ${principal.partner.id} needs one of the scopes ${[...new Set(types.map((t) => WRITE_SCOPES[t]))].join(', ')}; ` +
        `the credentials hold ${[...principal.scopes].sort().join(' ') || 'none'}.`,
    );
}
