import { createHmac, timingSafeEqual } from 'node:crypto';
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

/**
 * Checks a signature header against the active secrets; returns the matching signature (for the
 * replay check). Throws GW_WEBHOOK_SIGNATURE when it is missing, stale or matches no secret.
 */
export function verifySignature(header: string | undefined, secrets: readonly string[], body: Buffer, toleranceSeconds: number, now = Date.now()): { signature: string; timestamp: number; index: number } {
  if (!header) throw new GatewayError('GW_WEBHOOK_SIGNATURE', `The ${SIGNATURE_HEADER} header is missing.`);
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const given = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => v as string);
  if (!Number.isInteger(t) || !given.length) throw new GatewayError('GW_WEBHOOK_SIGNATURE', `The ${SIGNATURE_HEADER} header must be "t=<unix seconds>,v1=<hex HMAC-SHA256>".`);
  if (Math.abs(now / 1000 - t) > toleranceSeconds) throw new GatewayError('GW_WEBHOOK_SIGNATURE', `The signature timestamp ${t} is outside the replay window of ${toleranceSeconds} seconds.`);
  for (const [index, secret] of secrets.entries()) {
    const expected = Buffer.from(hmacHex(secret, t, body), 'hex');
    const hit = given.find((g) => timingSafeEqual(Buffer.from(g, 'hex'), expected));
    if (hit) return { signature: hit, timestamp: t, index };
  }
  throw new GatewayError('GW_WEBHOOK_SIGNATURE', secrets.length ? 'The signature matches no active webhook secret.' : 'The partner has no active webhook secret.');
}
