import { GatewayError } from '../errors.js';
import type { DocumentType, PartnerProfile } from '../types.js';

/**
 * Scopes name a capability and a document type. Every door grants the same ones: a REST token, an
 * API key, an SFTP login, a webhook secret and an AS2 agreement all end in a set of these.
 */
export const WRITE_SCOPES: Record<DocumentType, string> = {
  asn: 'asn:write',
  invoice: 'invoice:write',
  'po-ack': 'poack:write',
  inventory: 'inventory:write',
  'price-list': 'pricelist:write',
  'purchase-order': 'po:write',
};

export const READ_SCOPES = {
  /** Purchase orders (and other documents) in the partner's mailbox. */
  po: 'po:read',
  /** Acknowledgments (997, 999, TA1) in the mailbox. */
  ack: 'ack:read',
  /** Status and timeline of the partner's own messages. */
  status: 'status:read',
} as const;

export const ALL_SCOPES: readonly string[] = [...Object.values(WRITE_SCOPES), ...Object.values(READ_SCOPES)];

export function isScope(s: string): boolean {
  return ALL_SCOPES.includes(s);
}

/** The scope a mailbox item of this type needs to be listed, read or collected. */
export function mailboxScope(type: string): string {
  return /^(997|999|ta1)$/i.test(type) ? READ_SCOPES.ack : READ_SCOPES.po;
}

/**
 * What a partner may be granted at most: `security.scopes` when the profile lists them, otherwise
 * what its configuration implies (write for each inbound type, read for its mailbox and statuses).
 */
export function allowedScopes(partner: Readonly<PartnerProfile>): ReadonlySet<string> {
  if (partner.security?.scopes) return new Set(partner.security.scopes);
  return new Set([...partner.inbound.map((i) => WRITE_SCOPES[i.type]), READ_SCOPES.po, READ_SCOPES.ack, READ_SCOPES.status]);
}

/** A credential's own scopes narrowed to what the partner allows (all of them when it names none). */
export function grantedScopes(partner: Readonly<PartnerProfile>, own: readonly string[] | null | undefined): ReadonlySet<string> {
  const allowed = allowedScopes(partner);
  return own ? new Set(own.filter((s) => allowed.has(s))) : allowed;
}

/** Parses a space-separated scope parameter (RFC 6749 §3.3). */
export function parseScopeParam(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(' ').filter(Boolean);
}

export function requireScope(scopes: ReadonlySet<string>, scope: string, what: string): void {
  if (!scopes.has(scope))
    throw new GatewayError('GW_AUTH_SCOPE', `${what} needs the scope ${scope}; the credentials hold ${[...scopes].sort().join(' ') || 'none'}.`);
}

/** True when the scopes allow writing at least one of the document types. */
export function mayWriteAny(scopes: ReadonlySet<string>, types: readonly DocumentType[]): boolean {
  return types.some((t) => scopes.has(WRITE_SCOPES[t]));
}
