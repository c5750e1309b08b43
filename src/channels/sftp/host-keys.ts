import { openPrivateKeyPem, sealPrivateKeyPem, type MasterKeys } from '../../security/secrets.js';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { GatewayError } from '../../errors.js';
import { fingerprintOf } from '../../security/ssh-keys.js';

const { utils } = ssh2;

export type HostKeyType = 'ed25519' | 'rsa';
/** `active`: presented to clients; `next`: published for clients to trust ahead of a rotation. */
export type HostKeyState = 'active' | 'next';

export interface HostKey {
  /** File name inside the host key folder, e.g. `ed25519-20261123T101500Z.active.key`. */
  name: string;
  type: HostKeyType;
  state: HostKeyState;
  /** The private key (OpenSSH format). */
  privateKey: string;
  /** `ssh-ed25519 AAAA…`: the line a client puts in known_hosts after the host name. */
  publicKey: string;
  fingerprint: string;
}

const FILE = /^(ed25519|rsa)-(\d{8}T\d{6}Z)(?:-\d+)?\.(active|next)\.key$/;
export const HOST_KEY_TYPES: HostKeyType[] = ['ed25519', 'rsa'];

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function publicOf(privateKey: string): { publicKey: string; fingerprint: string } {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const blob = parsed.getPublicSSH();
  return { publicKey: `${parsed.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) };
}

/** Every active and next host key in `dir`, newest first within each type. */
export function listHostKeys(dir: string, master?: MasterKeys): HostKey[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .reverse()
    .map((name) => {
      const [, type, , state] = FILE.exec(name)!;
      const privateKey = openPrivateKeyPem(readFileSync(path.join(dir, name), 'utf8'), master, path.join(dir, name));
      return { name, type: type as HostKeyType, state: state as HostKeyState, privateKey, ...publicOf(privateKey) };
    });
}

/**
 * A new key pair that ssh2 can read back. ssh2's ed25519 generator strips leading zero bytes from
 * the public key, so about 1 key in 256 is malformed (mscdex/ssh2#1390, #1513); such a key is
 * thrown away and another one made.
 */
function generateParseable(type: HostKeyType): { private: string; public: string } {
  for (;;) {
    const keys = type === 'rsa' ? utils.generateKeyPairSync('rsa', { bits: 3072 }) : utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(keys.private) instanceof Error) && !(utils.parseKey(keys.public) instanceof Error)) return keys;
  }
}

function writeKey(dir: string, type: HostKeyType, state: HostKeyState, master?: MasterKeys): HostKey {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = generateParseable(type);
  let name = `${type}-${stamp()}.${state}.key`;
  for (let i = 2; existsSync(path.join(dir, name)); i++) name = `${type}-${stamp()}-${i}.${state}.key`;
  writeFileSync(path.join(dir, name), sealPrivateKeyPem(keys.private, master), { mode: 0o600 });
  chmodSync(path.join(dir, name), 0o600);
  return { name, type, state, privateKey: keys.private, ...publicOf(keys.private) };
}

/**
 * The host keys to present: the newest active key of each type. A type with no active key gets one
 * generated (first start). Keys live only in the data folder, never in the repository.
 */
export function ensureHostKeys(dir: string, master?: MasterKeys): HostKey[] {
  const keys = listHostKeys(dir, master);
  const served: HostKey[] = [];
  for (const type of HOST_KEY_TYPES) served.push(keys.find((k) => k.type === type && k.state === 'active') ?? writeKey(dir, type, 'active', master));
  return served;
}

/** Step 1 of a rotation: a new key, published (`next`) but not yet presented. */
export function addHostKey(dir: string, type: HostKeyType, master?: MasterKeys): HostKey {
  return writeKey(dir, type, 'next', master);
}

function find(dir: string, nameOrFingerprint: string, master?: MasterKeys): HostKey {
  const key = listHostKeys(dir, master).find((k) => k.name === nameOrFingerprint || k.fingerprint === nameOrFingerprint);
  if (!key) throw new GatewayError('GW_REQUEST_INVALID', `No host key "${nameOrFingerprint}" in ${dir}; \`gateway sftp host-keys list\` shows them.`);
  return key;
}

/**
 * Step 2: present the next key instead of the active one of its type. The old key moves to
 * `retired/` (kept, not presented), so a rollback is a file rename.
 */
export function activateHostKey(dir: string, nameOrFingerprint: string, master?: MasterKeys): HostKey {
  const key = find(dir, nameOrFingerprint, master);
  if (key.state === 'active') return key;
  for (const old of listHostKeys(dir, master).filter((k) => k.type === key.type && k.state === 'active')) retire(dir, old);
  const name = key.name.replace('.next.key', '.active.key');
  renameSync(path.join(dir, key.name), path.join(dir, name));
  return { ...key, name, state: 'active' };
}

function retire(dir: string, key: HostKey): void {
  mkdirSync(path.join(dir, 'retired'), { recursive: true, mode: 0o700 });
  renameSync(path.join(dir, key.name), path.join(dir, 'retired', key.name));
}

/** Withdraws a `next` key that will not be rolled out. An active key is retired by activating its successor. */
export function retireHostKey(dir: string, nameOrFingerprint: string, master?: MasterKeys): HostKey {
  const key = find(dir, nameOrFingerprint, master);
  if (key.state === 'active')
    throw new GatewayError('GW_REQUEST_INVALID', `${key.name} is presented to clients; \`gateway sftp host-keys activate\` its successor, which retires it.`);
  retire(dir, key);
  return key;
}
