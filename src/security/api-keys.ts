import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';

/** Who is calling, however they proved it. Later authenticators (OAuth2, mTLS) produce the same. */
export interface Principal {
  partner: Readonly<PartnerProfile>;
  method: 'api-key';
  credentialId: string;
}

const KEY = /^gw_([a-z0-9]{4,32})_([A-Za-z0-9_-]{32,})$/;

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A new API key (`gw_<id>_<43 random base64url chars>`) and the SHA-256 to put in the partner profile. */
export function generateApiKey(id: string): { key: string; sha256: string } {
  if (!/^[a-z0-9]{4,32}$/.test(id)) throw new GatewayError('GW_REQUEST_INVALID', 'A key id is 4 to 32 lower-case letters or digits.');
  const key = `gw_${id}_${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256Hex(key) };
}

/**
 * Checks a bearer API key against the hashes in the partner profiles. The key id selects the
 * candidate; the hash comparison is constant-time.
 */
export function authenticateApiKey(config: GatewayConfig, presented: string, now = new Date()): Principal {
  const m = KEY.exec(presented);
  if (!m) throw new GatewayError('GW_AUTH_INVALID', 'The bearer token is not a gateway API key.');
  const keyId = m[1] as string;
  const entry = config.apiKeys.get(keyId);
  if (!entry || !timingSafeEqual(Buffer.from(sha256Hex(presented), 'hex'), Buffer.from(entry.key.sha256, 'hex'))) {
    throw new GatewayError('GW_AUTH_INVALID', 'The API key is unknown or revoked.');
  }
  const { expires } = entry.key;
  if (expires && new Date(`${expires}T23:59:59.999Z`) < now) throw new GatewayError('GW_AUTH_INVALID', `API key ${keyId} expired on ${expires}.`);
  return { partner: entry.partner, method: 'api-key', credentialId: keyId };
}

/**
 * Checks a bearer API key of the ERP (ERP_API_KEYS holds `id:sha256` pairs). The ERP is no partner:
 * it may post outbound documents for any partner and read any message.
 */
export function authenticateErpKey(keys: readonly { id: string; sha256: string }[], presented: string): { credentialId: string } {
  const m = KEY.exec(presented);
  const entry = m ? keys.find((k) => k.id === m[1]) : undefined;
  if (!entry || !timingSafeEqual(Buffer.from(sha256Hex(presented), 'hex'), Buffer.from(entry.sha256, 'hex'))) {
    throw new GatewayError('GW_AUTH_INVALID', keys.length ? 'The ERP API key is unknown or revoked.' : 'No ERP API keys are configured (ERP_API_KEYS).');
  }
  return { credentialId: entry.id };
}
