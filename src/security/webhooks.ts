import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';

/**
 * Webhook signatures, both ways: `X-Gateway-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where
 * each v1 is HMAC-SHA256 over `<t>.<body>` with one active secret. During a rotation the sender
 * signs with both secrets, so a receiver holding either one accepts.
 */
export const SIGNATURE_HEADER = 'x-gateway-signature';

export function hmacHex(secret: string, timestamp: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signatureHeader(secrets: readonly string[], body: Buffer | string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return [`t=${t}`, ...secrets.map((s) => `v1=${hmacHex(s, t, body)}`)].join(',');
}

/** A signature header read and found fresh: its timestamp and the well-formed v1 signatures it carries. */
export interface SignatureClaim {
  timestamp: number;
  signatures: string[];
}

/**
 * Reads a signature header and checks its timestamp, before the body is read: a missing, malformed
 * or stale header is refused at no cost. Throws GW_WEBHOOK_SIGNATURE.
 */
export function readSignatureHeader(header: string | undefined, toleranceSeconds: number, now = Date.now()): SignatureClaim {
  if (!header) throw new GatewayError('GW_WEBHOOK_SIGNATURE', `The ${SIGNATURE_HEADER} header is missing.`);
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = parts.find(([k]) => k === 't')?.[1] ?? '';
  const signatures = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => v as string);
  if (!/^\d{1,12}$/.test(t) || !signatures.length)
    throw new GatewayError('GW_WEBHOOK_SIGNATURE', `The ${SIGNATURE_HEADER} header must be "t=<unix seconds>,v1=<hex HMAC-SHA256>".`);
  const timestamp = Number(t);
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds)
    throw new GatewayError(
      'GW_WEBHOOK_SIGNATURE',
      `The signature timestamp ${timestamp} is outside the replay window of ${toleranceSeconds} seconds; sign each delivery with the current time.`,
    );
  return { timestamp, signatures };
}

/** Which active secret made one of the claim's signatures over the body. Throws GW_WEBHOOK_SIGNATURE when none did. */
export function matchingSecret(claim: SignatureClaim, secrets: readonly string[], body: Buffer): { signature: string; index: number } {
  for (const [index, secret] of secrets.entries()) {
    const expected = Buffer.from(hmacHex(secret, claim.timestamp, body), 'hex');
    const hit = claim.signatures.find((g) => timingSafeEqual(Buffer.from(g, 'hex'), expected));
    if (hit) return { signature: hit, index };
  }
  throw new GatewayError(
    'GW_WEBHOOK_SIGNATURE',
    secrets.length ? 'The signature matches no active webhook secret.' : 'The partner has no active webhook secret.',
  );
}

/**
 * Checks a signature header against the active secrets; returns the matching signature and the
 * timestamp. Throws GW_WEBHOOK_SIGNATURE when it is missing, stale or matches no secret.
 */
export function verifySignature(
  header: string | undefined,
  secrets: readonly string[],
  body: Buffer,
  toleranceSeconds: number,
  now = Date.now(),
): { signature: string; timestamp: number; index: number } {
  const claim = readSignatureHeader(header, toleranceSeconds, now);
  return { ...matchingSecret(claim, secrets, body), timestamp: claim.timestamp };
}

/**
 * What identifies one signed delivery for the replay check: the signed content (timestamp and
 * body), not the signatures. A request signed with two secrets during a rotation stays the same
 * request when one signature is removed, so it cannot be presented twice.
 */
export function signedContentDigest(timestamp: number, body: Buffer): string {
  return createHash('sha256').update(`${timestamp}.`).update(body).digest('hex');
}
