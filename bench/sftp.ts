/**
 * SFTP door: OpenSSH's `sftp` uploads 1,000 small X12 files, then one 100 MB file, to the
 * gateway's SFTP server (every file committed to PostgreSQL before its close is answered).
 * Baseline, same client and files in the same run: OpenSSH's own sshd (internal-sftp) writing to
 * the local disk. Reports files/s, MB/s, the ratio to the baseline, the gateway's peak RSS while
 * it received, and what the large file cost the store: the bytes kept for it, the write-ahead log
 * written and the database's growth (each byte stored once: about the file's size, not twice it).
 * Needs sftp, ssh-keygen and /usr/sbin/sshd (the baseline is skipped without it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { startSftpServer } from '../src/channels/sftp/server.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { Receiver } from '../src/pipeline/receive.js';
import { CredentialStore } from '../src/security/credentials.js';
import { MasterKeys } from '../src/security/secrets.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';
import { knownHosts, runSftp, sshKeygen } from '../test/helpers/sftp.js';
import { haveSshd, PartnerSshd } from '../test/helpers/sshd.js';
import { withControl } from '../test/helpers/x12.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SMALL = Number(process.env.BENCH_SFTP_FILES ?? 1000);
const BIG_MB = Number(process.env.BENCH_SFTP_MB ?? 100);
const sample = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/856-004060-SOI.edi'), 'latin1');

/** Samples this process's RSS while `fn` runs; returns fn's seconds and the peak RSS in MB. */
async function measured(fn: () => Promise<void>): Promise<{ seconds: number; peakMb: number; startMb: number; peakBuffersMb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const startMb = process.memoryUsage().rss / 2 ** 20;
  let peak = process.memoryUsage().rss;
  let peakBuffers = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 20);
  const t0 = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return {
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    peakMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20,
    startMb,
    peakBuffersMb: peakBuffers / 2 ** 20,
  };
}

/** Interchanges repeated to BIG_MB, written in 1 MiB pieces (this process never holds the whole file). */
function writeBigFile(file: string): { bigSha: string; bigBytes: number } {
  const one = Buffer.from(withControl(sample, 1), 'latin1');
  const piece = Buffer.alloc(Math.floor((1 << 20) / one.length) * one.length);
  for (let o = 0; o < piece.length; o += one.length) one.copy(piece, o);
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  let bytes = 0;
  while (bytes < BIG_MB << 20) {
    writeSync(fd, piece);
    hash.update(piece);
    bytes += piece.length;
  }
  closeSync(fd);
  return { bigSha: hash.digest('hex'), bigBytes: bytes };
}

/** Write-ahead log written and database size so far, from PostgreSQL: what a file cost the store. */
async function storeCounters(knex: Knex): Promise<{ wal: number; size: number }> {
  const { rows } = await knex.raw<{ rows: { wal: string; size: string }[] }>(
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal, pg_database_size(current_database()) AS size",
  );
  return { wal: Number(rows[0]!.wal), size: Number(rows[0]!.size) };
}

/** Every byte the store keeps for a message: `messages.raw` and, where the table exists, its chunks. */
async function storedBytes(knex: Knex, id: string): Promise<number> {
  const chunks = (await knex.schema.hasTable('message_chunks')) ? '(SELECT coalesce(sum(length(data)), 0) FROM message_chunks WHERE message_id = m.id)' : '0';
  const { rows } = await knex.raw<{ rows: { n: string }[] }>(`SELECT coalesce(length(m.raw), 0) + ${chunks} AS n FROM messages m WHERE m.id = ?`, [id]);
  return Number(rows[0]?.n);
}

async function upload(target: { port: number; user: string; identity: string; knownHosts: string }, cwd: string, commands: string[]): Promise<void> {
  const res = await runSftp({ ...target, commands, cwd, timeoutMs: 600_000 });
  if (res.code !== 0) throw new Error(`sftp failed (${res.code}): ${res.stderr}`);
}

async function main(): Promise<void> {
  const log = createLogger('warn');
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-sftp-'));
  const small = path.join(dir, 'small');
  mkdirSync(small);
  for (let i = 1; i <= SMALL; i++) writeFileSync(path.join(small, `asn-${String(i).padStart(5, '0')}.edi`), withControl(sample, 900000 + i), 'latin1');
  const smallBytes = readdirSync(small).reduce((n, f) => n + statSync(path.join(small, f)).size, 0);
  const { bigSha, bigBytes } = writeBigFile(path.join(dir, 'big.edi'));
  const key = await sshKeygen(dir, 'bench');

  const partners = path.join(dir, 'partners');
  mkdirSync(partners);
  writeFileSync(
    path.join(partners, 'bench-supplier.yaml'),
    'id: bench-supplier\nname: Bench\nstate: live\nchannels: [sftp]\n' +
      `credentials:\n  sshKeys:\n    - key: "${key.publicKey}"\n` +
      'inbound:\n  - { type: asn, mapping: acme-supply/856-004010 }\n' +
      `limits: { maxBytes: ${(BIG_MB + 1) << 20} }\n`,
  );
  const config = await loadConfig({ partnersDir: partners, mappingsDir: path.join(REPO, 'mappings'), env: {} });

  let stopPg = async () => {};
  let url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    const pgDir = await mkdtemp(path.join(tmpdir(), 'gw-bench-pg-'));
    const pg = await startEmbedded(pgDir, log);
    url = pg.url;
    stopPg = async () => {
      await pg.stop();
      await rm(pgDir, { recursive: true, force: true });
    };
  }
  const knex = connect(url, 10);
  try {
    await migrate(knex);
    await knex('events').del();
    await knex('messages').del();
    // The door alone: receive and commit; the interpretation workers are not running here.
    const receiver = new Receiver(knex, { maxBatch: 100, maxWaitMs: 2 });
    const credentials = new CredentialStore(knex, new MasterKeys(randomBytes(32)), () => config);
    const server = await startSftpServer({
      knex,
      log,
      receiver,
      config: () => config,
      credentials,
      host: '127.0.0.1',
      port: 0,
      hostKeysDir: path.join(dir, 'host-keys'),
      maxBodyBytes: 1 << 30,
      lockout: { maxFailures: 5, windowMs: 60_000, lockMs: 60_000, baseDelayMs: 250 },
    });
    const gateway = {
      port: server.port,
      user: 'bench-supplier',
      identity: key.identity,
      knownHosts: knownHosts(
        path.join(dir, 'kh-gw'),
        server.port,
        server.hostKeys.map((k) => k.publicKey),
      ),
    };

    let sshd: PartnerSshd | undefined;
    let baseline: typeof gateway | undefined;
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    if (haveSshd()) {
      sshd = new PartnerSshd(dir, key.publicKey);
      await sshd.start();
      baseline = { port: sshd.port, user: sshd.user, identity: key.identity, knownHosts: knownHosts(path.join(dir, 'kh-sshd'), sshd.port, [sshd.hostKey]) };
    }

    const rows: string[][] = [];
    const stores: string[] = [];
    const report = (what: string, files: number, bytes: number, gw: Awaited<ReturnType<typeof measured>>, base?: { seconds: number }) => {
      const mb = bytes / 2 ** 20;
      rows.push([
        what,
        `${(files / gw.seconds).toFixed(1)} files/s, ${(mb / gw.seconds).toFixed(1)} MB/s`,
        base ? `${(files / base.seconds).toFixed(1)} files/s, ${(mb / base.seconds).toFixed(1)} MB/s` : 'no sshd',
        base ? `${(base.seconds / gw.seconds).toFixed(2)}×` : '-',
        `${gw.peakMb.toFixed(0)} MB (from ${gw.startMb.toFixed(0)} MB; Buffers ≤ ${gw.peakBuffersMb.toFixed(0)} MB)`,
      ]);
    };

    // 1,000 small files in one session (`put *.edi`), each committed before its close is answered.
    const smallBase = baseline && (await measured(() => upload(baseline, small, [`put *.edi ${landing}/`])));
    const smallGw = await measured(() => upload(gateway, small, ['put *.edi /inbound/']));
    await receiver.drain();
    const stored = Number((await knex('messages').count({ n: '*' }).first())?.n);
    if (stored !== SMALL) throw new Error(`expected ${SMALL} messages, found ${stored}`);
    report(`${SMALL} small files (${(smallBytes / SMALL).toFixed(0)} B each)`, SMALL, smallBytes, smallGw, smallBase);

    // One 100 MB file: staged in 4 MiB chunks as it arrives, which become the message's bytes on close.
    const bigBase = baseline && (await measured(() => upload(baseline, dir, [`put big.edi ${landing}/`])));
    const store0 = await storeCounters(knex);
    const bigGw = await measured(() => upload(gateway, dir, ['put big.edi /inbound/']));
    const store1 = await storeCounters(knex);
    const row = await knex('messages').first('id', 'size_bytes', 'sha256').where('file_name', 'big.edi');
    if (row?.size_bytes !== bigBytes || row.sha256 !== bigSha) throw new Error('the 100 MB file was not stored byte for byte');
    report(`one ${BIG_MB} MB file`, 1, bigBytes, bigGw, bigBase);
    const kept = await storedBytes(knex, row.id);
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    stores.push(
      `the ${mb(bigBytes)} file: ${mb(kept)} kept for it (messages.raw and chunks), ${mb(store1.wal - store0.wal)} of write-ahead log ` +
        `and ${mb(store1.size - store0.size)} of database growth while it was received`,
    );

    console.log(`\nSFTP door (OpenSSH sftp → gateway, committed to PostgreSQL) vs OpenSSH sshd to local disk\n`);
    const head = ['upload', 'gateway', 'sshd baseline', 'gateway / baseline', 'gateway peak RSS'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    for (const line of stores) console.log(`\nStored: ${line}`);
    await sshd?.stop();
    await server.close();
  } finally {
    await knex.destroy();
    await stopPg();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
