import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';

const { utils } = ssh2;

/** A public key as written in authorized_keys / known_hosts, parsed. */
export interface PublicKey {
  type: string;
  /** The SSH wire blob of the public key. */
  blob: Buffer;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  parsed: ParsedKey;
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses one `type base64 [comment]` line; an Error says why it is not a public key. */
export function parsePublicKey(line: string): PublicKey | Error {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) return parsed;
  if (parsed.isPrivateKey()) return new Error('a private key where a public key belongs');
  const blob = parsed.getPublicSSH();
  return { type: parsed.type, blob, fingerprint: fingerprintOf(blob), parsed };
}

/** Parses a private key (OpenSSH or PEM, unencrypted); an Error says why it cannot be used. */
export function parsePrivateKey(text: string): ParsedKey | Error {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) return parsed;
  return parsed.isPrivateKey() ? parsed : new Error('a public key where the private key belongs');
}

/** Constant-time equality of two public key blobs. */
export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// Passwords are never stored, only `scrypt$N$r$p$salt$hash` (base64): memory-hard, salted per hash.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32 };

function scrypt(password: string, salt: Buffer, keyLength: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keyLength, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}
