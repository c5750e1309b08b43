import type { GatewayConfig } from '../../config/load.js';
import type { As2KeyRing } from './keys.js';

export interface CertificateExpiry {
  /** `ours` (a gateway key pair) or the partner id. */
  owner: string;
  /** Key state (ours) or the certificate file (partner). */
  what: string;
  subject: string;
  fingerprint: string;
  notAfter: string;
  daysLeft: number;
}

/** Every AS2 certificate, ours and the partners', soonest expiry first. */
export function certificateExpiries(config: GatewayConfig, keys: As2KeyRing): CertificateExpiry[] {
  const now = Date.now();
  const days = (d: string) => Math.floor((new Date(d).getTime() - now) / 86_400_000);
  const out: CertificateExpiry[] = keys.decrypting().map((k) => ({
    owner: 'ours',
    what: k.state,
    subject: k.cert.x509.subject,
    fingerprint: k.cert.fingerprint,
    notAfter: new Date(k.cert.x509.validTo).toISOString(),
    daysLeft: days(k.cert.x509.validTo),
  }));
  for (const { partner, certs } of config.as2.values()) {
    for (const [i, c] of certs.entries()) {
      out.push({
        owner: partner.id,
        what: partner.as2!.certificates[i] ?? '',
        subject: c.x509.subject,
        fingerprint: c.fingerprint,
        notAfter: new Date(c.x509.validTo).toISOString(),
        daysLeft: days(c.x509.validTo),
      });
    }
  }
  return out.sort((a, b) => a.daysLeft - b.daysLeft);
}

/** The certificates that expire within `withinDays` (or have expired). */
export function expiringCertificates(config: GatewayConfig, keys: As2KeyRing, withinDays: number): CertificateExpiry[] {
  return certificateExpiries(config, keys).filter((c) => c.daysLeft <= withinDays);
}
