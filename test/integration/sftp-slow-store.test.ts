import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHUNK_BYTES } from '../../src/channels/sftp/files.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite } from '../helpers/gateway.js';
import {
  allowSftp,
  knownHosts,
  largePriceList,
  leftovers,
  runSftp,
  slowStaging,
  sshKeygen,
  storedFiles,
  type SshIdentity,
  type StoredFile,
} from '../helpers/sftp.js';

const priceList = readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv'));

/**
 * An SFTP close answered OK means every byte written is committed, whatever the timing of the
 * client's pipelined writes against the store. The store is made slow (or failing) on purpose with
 * a trigger in this suite's own database, so the close reliably arrives while a chunk is staging.
 */
describe('SFTP door against a slow or failing store (OpenSSH sftp, real server, triggers on purpose)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite({ env: { SFTP: 'on' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-slow-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let key: SshIdentity;
  const big = largePriceList(priceList);
  let kh: string;
  let undo: (() => Promise<void>) | undefined;

  before(async () => {
    key = await sshKeygen(dir, 'hansen');
    kh = knownHosts(
      path.join(dir, 'known_hosts'),
      suite.t.gw.sftp!.port,
      suite.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'hansen-textil', [key.publicKey]);
    assert.ok(big.length > CHUNK_BYTES && big.length < 2 * CHUNK_BYTES, 'one staged chunk and a tail');
  });
  afterEach(async () => {
    await undo?.();
    undo = undefined;
  });

  const put = (file: string) =>
    runSftp({
      port: suite.t.gw.sftp!.port,
      user: 'hansen-textil',
      identity: key.identity,
      knownHosts: kh,
      commands: [`put ${file} /inbound/`],
      cwd: dir,
      timeoutMs: 150_000,
    });
  const stored = (name: string) => storedFiles(suite.db.knex, 'hansen-textil', name);

  it('stores a 5 MB file whole, or not at all, when every staged insert takes 1.5 s', async () => {
    writeFileSync(path.join(dir, 'slow.csv'), big);
    undo = await slowStaging(suite.db.knex, 1.5);
    const res = await put('slow.csv');
    assert.equal(res.code, 0, res.stderr);
    const rows = await stored('slow.csv');
    assert.equal(rows.length, 1);
    const [row] = rows as [StoredFile];
    const sha256 = createHash('sha256').update(big).digest('hex');
    assert.equal(row.size_bytes, big.length, 'the recorded size is the file size');
    assert.equal(row.sha256, sha256);
    assert.equal(row.raw_length, big.length, 'the stored bytes are as many as the file');
    assert.equal(row.raw_sha256, sha256, 'the stored bytes are the file');
    assert.equal(row.stored_bytes, big.length, 'each byte is stored once');
    assert.equal((await suite.db.knex('sftp_uploads').count({ n: '*' }).first())?.n, '0', 'no staged upload is left behind');
  });

  it('holds a 5 MB .part file whole under the same delays, and commits it whole on rename', async () => {
    writeFileSync(path.join(dir, 'held.csv.part'), big);
    undo = await slowStaging(suite.db.knex, 1.5);
    const res = await runSftp({
      port: suite.t.gw.sftp!.port,
      user: 'hansen-textil',
      identity: key.identity,
      knownHosts: kh,
      commands: ['put held.csv.part /inbound/', 'rename /inbound/held.csv.part /inbound/held.csv'],
      cwd: dir,
      timeoutMs: 150_000,
    });
    assert.equal(res.code, 0, res.stderr);
    const [row] = await stored('held.csv');
    assert.ok(row);
    const sha256 = createHash('sha256').update(big).digest('hex');
    assert.equal(Number(row.raw_length), big.length);
    assert.equal(row.raw_sha256, sha256);
    assert.equal(row.sha256, sha256);
    assert.equal(row.stored_bytes, big.length, 'each byte is stored once');
  });

  it('answers a close with a failure, and keeps nothing, when staging fails mid-upload', async () => {
    writeFileSync(path.join(dir, 'refused.csv'), big);
    undo = await slowStaging(suite.db.knex, 1.5, true);
    const res = await put('refused.csv');
    assert.notEqual(res.code, 0, `sftp reported success: ${res.stdout}`);
    assert.match(res.stderr, /close remote.*Failure/, 'OpenSSH reports the failed close');
    assert.doesNotMatch(res.stderr, /staging refused on purpose/, 'store details stay in the log');
    assert.equal((await stored('refused.csv')).length, 0, 'nothing was stored');
    assert.equal((await suite.db.knex('sftp_uploads').count({ n: '*' }).first())?.n, '0', 'the staged upload was discarded before the answer');
    assert.deepEqual(await leftovers(suite.db.knex), { uploads: 0, strayChunks: 0 }, 'and every chunk staged before the failure');
  });
});
