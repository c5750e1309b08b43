import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import type { Gateway } from '../../src/server.js';

const run = promisify(execFile);

/** A key pair made by OpenSSH's ssh-keygen: the private key's path and the public key line. */
export interface SshIdentity {
  identity: string;
  publicKey: string;
}

export async function sshKeygen(dir: string, name: string, type: 'ed25519' | 'rsa' = 'ed25519'): Promise<SshIdentity> {
  const identity = path.join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', identity]);
  return { identity, publicKey: (await readFile(`${identity}.pub`, 'utf8')).trim() };
}

/** A known_hosts file that trusts exactly these keys for 127.0.0.1 on `port`. */
export function knownHosts(file: string, port: number, keys: string[]): string {
  writeFileSync(file, keys.map((k) => `[127.0.0.1]:${port} ${k}\n`).join(''));
  return file;
}

export interface SftpRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs OpenSSH's `sftp` in batch mode against 127.0.0.1:`port`, strict about the host key: the
 * way a partner's script does it. `commands` are the batch lines (a leading `-` tolerates failure).
 */
export function runSftp(opts: {
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  commands: string[];
  cwd?: string;
  timeoutMs?: number;
}): Promise<SftpRun> {
  const args = [
    '-b',
    '-',
    '-P',
    String(opts.port),
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${opts.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    `IdentityFile=${opts.identity}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    `${opts.user}@127.0.0.1`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('sftp', args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sftp did not exit within ${opts.timeoutMs ?? 30_000} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(`${opts.commands.join('\n')}\n`);
  });
}

/**
 * Lets a test partner log in over SFTP: adds `sftp` to its channels and the given keys (and an
 * optional password hash) to its credentials, then reloads the gateway's configuration.
 */
export async function allowSftp(gw: Gateway, partnersDir: string, partnerId: string, keys: string[], sftpPassword?: string): Promise<void> {
  const file = path.join(partnersDir, `${partnerId}.yaml`);
  const text = (await readFile(file, 'utf8'))
    .replace(/^channels: \[rest\]$/m, 'channels: [rest, sftp]')
    .replace(
      /^credentials:\n/m,
      `credentials:\n  sshKeys:\n${keys.map((k) => `    - key: "${k}"\n`).join('')}${sftpPassword ? `  sftpPassword: "${sftpPassword}"\n` : ''}`,
    );
  await writeFile(file, text);
  await gw.reload();
}

/**
 * A CSV price list of `rows` copies of the sample's first data row under its header: with the
 * default count, 5,243,100 bytes, more than one staged chunk (4 MiB) of an SFTP upload.
 */
export function largePriceList(sample: Buffer, minBytes = 5 << 20): Buffer {
  const [header, row] = sample.toString('latin1').split(/\r?\n/);
  return Buffer.from(`${header}\r\n${`${row}\r\n`.repeat(Math.ceil(minBytes / (row!.length + 2)))}`, 'latin1');
}

/**
 * Makes every INSERT into the staged-upload tables (`sftp_uploads`, `sftp_upload_chunks`) of this
 * database wait `seconds`, and, with `failChunks`, then fail: a slow or failing store on purpose,
 * in the test's own database only. Returns the undo.
 */
export async function slowStaging(knex: Knex, seconds: number, failChunks = false): Promise<() => Promise<void>> {
  await knex.raw(`CREATE OR REPLACE FUNCTION test_slow_staging() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(${Number(seconds)});
      IF TG_TABLE_NAME = 'sftp_upload_chunks' AND ${failChunks ? 'true' : 'false'} THEN RAISE EXCEPTION 'staging refused on purpose by the test'; END IF;
      RETURN NEW;
    END $$`);
  const tables = ['sftp_uploads', 'sftp_upload_chunks'];
  for (const t of tables) {
    await knex.raw(`DROP TRIGGER IF EXISTS test_slow_staging ON ${t}`);
    await knex.raw(`CREATE TRIGGER test_slow_staging BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION test_slow_staging()`);
  }
  return async () => {
    for (const t of tables) await knex.raw(`DROP TRIGGER IF EXISTS test_slow_staging ON ${t}`);
  };
}
