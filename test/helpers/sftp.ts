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

/** What the store keeps of a file received under `fileName`, measured by the database (a few MB of bytea are slow to decode here). */
export interface StoredFile {
  id: string;
  /** As recorded with the message. */
  size_bytes: number;
  sha256: string;
  /** The length and SHA-256 of the message's bytes, from `messages.raw` or its chunks. */
  raw_length: number;
  raw_sha256: string;
  /** Every byte stored for it, `messages.raw` and chunks together: each byte once means the file's size. */
  stored_bytes: number;
  /** Whether its bytes are chunks (`messages.raw` NULL). */
  chunked: boolean;
}

export async function storedFiles(knex: Knex, partnerId: string, fileName: string): Promise<StoredFile[]> {
  const { rows } = await knex.raw<{ rows: Record<keyof StoredFile, string | boolean>[] }>(
    `SELECT m.id, m.size_bytes, m.sha256, length(coalesce(m.raw, c.joined)) AS raw_length, encode(sha256(coalesce(m.raw, c.joined)), 'hex') AS raw_sha256,
            coalesce(length(m.raw), 0) + c.chunk_bytes AS stored_bytes, m.raw IS NULL AS chunked
       FROM messages m,
            LATERAL (SELECT string_agg(data, ''::bytea ORDER BY first_byte) AS joined, coalesce(sum(length(data)), 0) AS chunk_bytes
                       FROM message_chunks WHERE message_id = m.id) c
      WHERE m.partner_id = ? AND m.file_name = ? AND m.direction = 'inbound'
      ORDER BY m.received_at`,
    [partnerId, fileName],
  );
  return rows.map((r) => ({
    ...r,
    size_bytes: Number(r.size_bytes),
    raw_length: Number(r.raw_length),
    stored_bytes: Number(r.stored_bytes),
  })) as StoredFile[];
}

/** Staged uploads and chunks that belong to no upload and to no message: what an abandoned upload must not leave. */
export async function leftovers(knex: Knex): Promise<{ uploads: number; strayChunks: number }> {
  const { rows } = await knex.raw<{ rows: { uploads: string; stray: string }[] }>(
    `SELECT (SELECT count(*) FROM sftp_uploads WHERE state = 'writing') AS uploads,
            (SELECT count(*) FROM message_chunks c
              WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id)
                AND NOT EXISTS (SELECT 1 FROM sftp_uploads u WHERE u.id = c.message_id)) AS stray`,
  );
  return { uploads: Number(rows[0]?.uploads), strayChunks: Number(rows[0]?.stray) };
}

/**
 * Makes every INSERT into the staging tables (`sftp_uploads`, `message_chunks`) of this
 * database wait `seconds`, and, with `failChunks`, then fail: a slow or failing store on purpose,
 * in the test's own database only. Returns the undo.
 */
export async function slowStaging(knex: Knex, seconds: number, failChunks = false): Promise<() => Promise<void>> {
  await knex.raw(`CREATE OR REPLACE FUNCTION test_slow_staging() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(${Number(seconds)});
      IF TG_TABLE_NAME = 'message_chunks' AND ${failChunks ? 'true' : 'false'} THEN RAISE EXCEPTION 'staging refused on purpose by the test'; END IF;
      RETURN NEW;
    END $$`);
  const tables = ['sftp_uploads', 'message_chunks'];
  for (const t of tables) {
    await knex.raw(`DROP TRIGGER IF EXISTS test_slow_staging ON ${t}`);
    await knex.raw(`CREATE TRIGGER test_slow_staging BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION test_slow_staging()`);
  }
  return async () => {
    for (const t of tables) await knex.raw(`DROP TRIGGER IF EXISTS test_slow_staging ON ${t}`);
  };
}
