import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';

/** Who is calling, however they proved it: every door ends in a partner and the scopes granted. */
export interface Principal {
  partner: Readonly<PartnerProfile>;
  method: 'api-key' | 'oauth' | 'external' | 'mtls' | 'webhook' | 'sftp' | 'as2';
  /** The credential used: API key id, token id, certificate fingerprint, secret reference. */
  credentialId: string;
  scopes: ReadonlySet<string>;
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
 * Checks a bearer API key of a service that is no partner (`id:sha256` pairs from the environment):
 * the ERP (ERP_API_KEYS) may post outbound documents for any partner and read any message; security
 * administrators (ADMIN_API_KEYS) manage credentials and read the audit log.
 */
export function authenticateServiceKey(keys: readonly { id: string; sha256: string }[], presented: string, what: 'ERP' | 'admin'): { credentialId: string } {
  const m = KEY.exec(presented);
  const entry = m ? keys.find((k) => k.id === m[1]) : undefined;
  if (!entry || !timingSafeEqual(Buffer.from(sha256Hex(presented), 'hex'), Buffer.from(entry.sha256, 'hex'))) {
    throw new GatewayError(
      'GW_AUTH_INVALID',
      keys.length ? `The ${what} API key is unknown or revoked.` : `No ${what} API keys are configured (${what === 'ERP' ? 'ERP' : 'ADMIN'}_API_KEYS).`,
    );
  }
  return { credentialId: entry.id };
}
