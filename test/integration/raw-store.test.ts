import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { migrate } from '../../src/store/db.js';
import { insertChunkedMessage } from '../../src/pipeline/messages.js';
import { processBatch } from '../../src/pipeline/process.js';
import { discardStagedChunks, readRawSlice, readStagedSlice, stageChunk } from '../../src/pipeline/raw-store.js';
import { Receiver } from '../../src/pipeline/receive.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { emptyDatabase, freshDatabase, type TestDatabase } from '../helpers/db.js';
import { writeTestPartners } from '../helpers/gateway.js';
import { withControl } from '../helpers/x12.js';

/** Stages `bytes` under a new id in pieces of the given sizes (the last piece takes the rest). */
async function stage(knex: Knex, bytes: Buffer, sizes: readonly number[]): Promise<string> {
  const id = randomUUID();
  await knex.transaction(async (trx) => {
    let at = 0;
    for (const size of [...sizes, bytes.length]) {
      if (at >= bytes.length) break;
      const piece = bytes.subarray(at, Math.min(at + size, bytes.length));
      await stageChunk(trx, id, at, piece);
      at += piece.length;
    }
  });
  return id;
}

/** Commits what was staged under `id` as an inbound message of `partnerId`; false when the chunks do not add up to `size`. */
const commitChunks = (knex: Knex, id: string, size: number, partnerId = 'acme-supply', format = 'x12') =>
  knex.transaction((trx) =>
    insertChunkedMessage(trx, {
      id,
      partner_id: partnerId,
      channel: 'sftp',
      content_type: 'application/edi-x12',
      format,
      size_bytes: size,
      sha256: 'x',
      correlation_id: id,
      file_name: 'f.edi',
      scopes: null,
    }),
  );

describe('raw bytes kept in chunks (message_chunks) read as the bytes in messages.raw do', function () {
  this.timeout(60_000);
  const dbs: TestDatabase[] = [];
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
    dbs.push(db);
  });
  after(async () => {
    for (const d of dbs) await d.drop();
  });

  it('reads any slice across chunks of uneven sizes, and nothing of another partner', async () => {
    const bytes = randomBytes(10_000);
    const id = await stage(db.knex, bytes, [1, 999, 4096, 3, 2000]);
    assert.equal(await commitChunks(db.knex, id, bytes.length), true);
    const ranges: [number, number][] = [
      [0, 10_000],
      [0, 1],
      [1, 999],
      [999, 2],
      [1000, 4096],
      [4000, 1200],
      [5095, 3],
      [5096, 1],
      [0, 20_000],
      [9_999, 5],
      [10_000, 10],
      [12_000, 10],
    ];
    for (let i = 0; i < 200; i++) ranges.push([Math.floor(Math.random() * 10_100), 1 + Math.floor(Math.random() * 6000)]);
    for (const [offset, length] of ranges) {
      const slice = await readRawSlice(db.knex, id, offset, length);
      assert.ok(slice.equals(bytes.subarray(offset, offset + length)), `bytes ${offset}…${offset + length}`);
    }
    assert.ok((await readRawSlice(db.knex, id, 0, 100, 'acme-supply')).equals(bytes.subarray(0, 100)));
    assert.equal((await readRawSlice(db.knex, id, 0, 100, 'northwind')).length, 0, "another partner's message reads as empty");
  });

  it('commits chunks as a message only when they add up to every byte written', async () => {
    const bytes = randomBytes(3000);
    const id = await stage(db.knex, bytes, [1000, 1000]);
    assert.equal(await commitChunks(db.knex, id, 3001), false);
    assert.equal(await db.knex('messages').first('id').where('id', id), undefined, 'nothing was inserted');
    assert.ok((await readStagedSlice(db.knex, id, 990, 20)).equals(bytes.subarray(990, 1010)), 'a staged file reads before its commit');
    assert.equal(await commitChunks(db.knex, id, 3000), true);
  });

  it("never discards a committed message's chunks, only those of files that were not committed", async () => {
    const kept = randomBytes(2000);
    const committed = await stage(db.knex, kept, [700]);
    assert.equal(await commitChunks(db.knex, committed, kept.length), true);
    const abandoned = await stage(db.knex, randomBytes(2000), [700]);
    await db.knex.transaction((trx) => discardStagedChunks(trx, [committed, abandoned]));
    assert.ok((await readRawSlice(db.knex, committed, 0, 2000)).equals(kept));
    assert.equal((await db.knex('message_chunks').count({ n: '*' }).where('message_id', abandoned).first())?.n, '0');
  });

  it('moves uploads staged before the migration (a held .part file) into message_chunks, each piece at its place', async () => {
    const old = await emptyDatabase();
    dbs.push(old);
    await migrate(old.knex, '20261201000001_one_outbox');
    const bytes = randomBytes(5000);
    const id = randomUUID();
    await old.knex('sftp_uploads').insert({ id, partner_id: 'acme-supply', name: 'x.edi.part', state: 'held', size_bytes: bytes.length });
    const pieces = [bytes.subarray(0, 1234), bytes.subarray(1234, 4000), bytes.subarray(4000)];
    await old.knex('sftp_upload_chunks').insert(pieces.map((data, seq) => ({ upload_id: id, seq, data })));
    await migrate(old.knex);
    const chunks = await old.knex('message_chunks').select('first_byte').where('message_id', id).orderBy('first_byte');
    assert.deepEqual(
      chunks.map((c) => Number(c.first_byte)),
      [0, 1234, 4000],
    );
    assert.ok((await readStagedSlice(old.knex, id, 0, 5000)).equals(bytes));
    assert.equal(await old.knex.schema.hasTable('sftp_upload_chunks'), false);
  });

  describe('interpretation reads chunked messages as it reads messages.raw', () => {
    let dir: string;
    let config: GatewayConfig;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'gw-raw-store-'));
      const partnersDir = await writeTestPartners(dir, 'http://127.0.0.1:9/erp');
      config = await loadConfig({ partnersDir, mappingsDir: path.join(REPO, 'mappings'), env: { GATEWAY_DATA_DIR: dir } });
    });
    after(() => rm(dir, { recursive: true, force: true }));

    /** What interpretation left of a message, without ids and times. */
    const outcome = async (knex: Knex, id: string) => ({
      message: await knex('messages').first('state', 'problems').where('id', id),
      documents: await knex('documents').select('seq', 'type', 'state', 'canonical', 'problems', 'source_ref').where('message_id', id).orderBy('seq'),
      acks: (await knex('messages').count({ n: '*' }).where({ related_message_id: id, direction: 'outbound' }).first())?.n,
    });

    const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
    const hansen = readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv'));
    const files = [
      {
        what: 'X12, 20 interchanges',
        partner: 'acme-supply',
        format: 'x12' as const,
        bytes: Buffer.from(Array.from({ length: 20 }, (_, i) => withControl(soi, 830001 + i)).join(''), 'latin1'),
      },
      { what: 'a CSV price list', partner: 'hansen-textil', format: 'csv' as const, bytes: hansen },
    ];
    for (const file of files) {
      it(`${file.what}: the same documents from chunks cut mid-segment as from messages.raw`, async () => {
        const log = createLogger('silent');
        const asRaw = await freshDatabase();
        const asChunks = await freshDatabase();
        dbs.push(asRaw, asChunks);
        const receipt = await new Receiver(asRaw.knex).receive({
          partnerId: file.partner,
          channel: 'sftp',
          contentType: 'text/plain',
          format: file.format,
          bytes: file.bytes,
          fileName: 'f.edi',
        });
        const id = await stage(asChunks.knex, file.bytes, Array(400).fill(97));
        assert.equal(await commitChunks(asChunks.knex, id, file.bytes.length, file.partner, file.format), true);
        assert.equal(await processBatch(asRaw.knex, config, log), 1);
        assert.equal(await processBatch(asChunks.knex, config, log), 1);
        const expected = await outcome(asRaw.knex, receipt.messageId);
        assert.notEqual(expected.message.state, 'failed', JSON.stringify(expected.message.problems));
        assert.ok(expected.documents.length > 0);
        assert.deepEqual(await outcome(asChunks.knex, id), expected);
      });
    }
  });
});
