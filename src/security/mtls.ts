import { createHash, generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { selfSignedCertificate } from '../formats/as2/certificates.js';
import type { GatewayConfig } from '../config/load.js';
import type { PartnerProfile } from '../types.js';
import { certFingerprint, type Credential, type CredentialStore } from './credentials.js';

/** The TLS client certificate of a request on the HTTPS port; undefined on plain HTTP or without one. */
export function peerCertificate(req: IncomingMessage): X509Certificate | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || typeof socket.getPeerX509Certificate !== 'function') return undefined;
  return socket.getPeerX509Certificate() ?? undefined;
}

/** cnf.x5t#S256 of a certificate (RFC 8705 §3.1): base64url SHA-256 of its DER. */
export function thumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url');
}

/** A distinguished name as a set of `key=value` parts, order and spacing aside. */
function nameParts(name: string): string {
  return name
    .split(/\n|,(?=\s*[A-Za-z.0-9]+=)/)
    .map((p) => p.trim().replace(/\s*=\s*/, '='))
    .filter(Boolean)
    .sort()
    .join('\n');
}

/**
 * The pinned certificate credential a partner's certificate matches: a `tls-cert` fingerprint
 * (profile or store) usable now, or the profile's CA + exact subject. Undefined when it matches none.
 */
export async function matchPartnerCertificate(
  store: CredentialStore,
  config: GatewayConfig,
  partner: Readonly<PartnerProfile>,
  cert: X509Certificate,
  now = new Date(),
): Promise<Credential | 'ca' | undefined> {
  if (new Date(cert.validTo) < now || new Date(cert.validFrom) > now) return undefined;
  const fp = certFingerprint(cert);
  const pinned = (await store.usable('tls-cert', partner.id, now)).find((c) => c.ref === fp);
  if (pinned) {
    store.noteUse(pinned);
    return pinned;
  }
  const ca = config.mtlsCas.get(partner.id);
  if (ca && partner.mtls?.subject && cert.checkIssued(ca) && cert.verify(ca.publicKey) && nameParts(cert.subject) === nameParts(partner.mtls.subject))
    return 'ca';
  return undefined;
}

/** The partner a client certificate identifies, by pinned fingerprint or by CA and subject. */
export async function partnerForCertificate(
  store: CredentialStore,
  config: GatewayConfig,
  cert: X509Certificate,
): Promise<Readonly<PartnerProfile> | undefined> {
  const byPin = await store.find('tls-cert', certFingerprint(cert));
  const candidates = byPin?.partnerId ? [config.partners.get(byPin.partnerId)] : [...config.partners.values()].filter((p) => config.mtlsCas.has(p.id));
  for (const p of candidates) if (p && (await matchPartnerCertificate(store, config, p, cert))) return p;
  return undefined;
}

/**
 * The HTTPS listener's key and certificate: the files named by TLS_CERT_FILE and TLS_KEY_FILE, or
 * for development a self-signed pair made once under the data folder (never committed).
 */
export async function serverCredentials(opts: {
  certFile?: string;
  keyFile?: string;
  dir: string;
}): Promise<{ cert: string; key: string; certFile: string; generated: boolean }> {
  if (opts.certFile && opts.keyFile)
    return { cert: readFileSync(opts.certFile, 'utf8'), key: readFileSync(opts.keyFile, 'utf8'), certFile: opts.certFile, generated: false };
  const certFile = path.join(opts.dir, 'server.crt');
  const keyFile = path.join(opts.dir, 'server.key');
  let generated = false;
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = await selfSignedCertificate(pair, 'partner-gateway development', 825, { dns: ['localhost'], ip: ['127.0.0.1'] });
    writeFileSync(keyFile, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    writeFileSync(certFile, pem);
    generated = true;
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, generated };
}
