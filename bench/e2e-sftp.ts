/**
 * The SFTP scenario of bench/e2e.ts: OpenSSH's `sftp` puts 1,000 X12 856 files (one session,
 * `put *.edi`) into the running gateway's /inbound, each committed before its close is answered,
 * and each ship notice is delivered to the ERP. Baseline, same client and files in the same run:
 * OpenSSH's own sshd (internal-sftp) writing them to the local disk.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listHostKeys } from '../src/channels/sftp/host-keys.js';
import { MasterKeys } from '../src/security/secrets.js';
import { knownHosts, runSftp, type SshIdentity } from '../test/helpers/sftp.js';
import { haveSshd, PartnerSshd } from '../test/helpers/sshd.js';
import { withControl } from '../test/helpers/x12.js';

export const SFTP_FILES = Number(process.env.BENCH_SFTP_FILES ?? 1000);
const sample = readFileSync(path.join(import.meta.dirname, '../mappings/acme-supply/samples/856-004060-SOI.edi'), 'latin1');

/** The partner profile edit that lets acme-supply log in over SFTP with `key`. */
export function sftpPartner(key: SshIdentity): (yaml: string) => string {
  return (y) =>
    y
      .replace('channels: [rest]', 'channels: [rest, sftp]')
      .replace('credentials:\n  apiKeys:\n', `credentials:\n  sshKeys:\n    - key: "${key.publicKey}"\n  apiKeys:\n`);
}

/** The files, numbered so that no interchange control number repeats one sent before. */
export function writeFiles(dir: string): string {
  const folder = path.join(dir, 'sftp-files');
  mkdirSync(folder, { recursive: true });
  for (let i = 1; i <= SFTP_FILES; i++) writeFileSync(path.join(folder, `asn-${String(i).padStart(5, '0')}.edi`), withControl(sample, 800000 + i), 'latin1');
  return folder;
}

async function put(target: { port: number; user: string; identity: string; knownHosts: string }, cwd: string, into: string): Promise<number> {
  const t0 = performance.now();
  const res = await runSftp({ ...target, commands: [`put *.edi ${into}/`], cwd, timeoutMs: 600_000 });
  if (res.code !== 0) throw new Error(`sftp failed (${res.code}): ${res.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** OpenSSH's sshd taking the same files to disk; undefined when sshd is not installed. */
export async function sshdSeconds(dir: string, key: SshIdentity, files: string): Promise<number | undefined> {
  if (!haveSshd()) return undefined;
  const sshd = new PartnerSshd(dir, key.publicKey);
  await sshd.start();
  try {
    const landing = path.join(dir, 'sshd-landing');
    mkdirSync(landing, { recursive: true });
    const target = { port: sshd.port, user: sshd.user, identity: key.identity, knownHosts: knownHosts(path.join(dir, 'kh-sshd'), sshd.port, [sshd.hostKey]) };
    return await put(target, files, landing);
  } finally {
    await sshd.stop();
  }
}

/** The gateway taking the files into acme-supply's /inbound; seconds until the last close was answered. */
export async function gatewaySeconds(dataDir: string, port: number, key: SshIdentity, files: string): Promise<number> {
  const hostKeys = listHostKeys(path.join(dataDir, 'sftp', 'host-keys'), MasterKeys.fromEnv({}, dataDir)).map((k) => k.publicKey);
  const target = { port, user: 'acme-supply', identity: key.identity, knownHosts: knownHosts(path.join(dataDir, 'kh-gateway'), port, hostKeys) };
  return put(target, files, '/inbound');
}
