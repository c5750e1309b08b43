import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { queueDocumentDeliveries } from '../../src/delivery/outbox.js';
import { GatewayError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { recordEvents, type TimelineEvent } from '../../src/observability/events.js';
import { documentRecords, type ClaimedMessage } from '../../src/pipeline/document-records.js';
import { copyDocuments } from '../../src/pipeline/documents.js';
import { inlineInterpreter, type Interpreter } from '../../src/pipeline/interpreter.js';
import { processBatch } from '../../src/pipeline/process.js';
import { Receiver } from '../../src/pipeline/receive.js';
import { replayMessage } from '../../src/pipeline/replay.js';
import { generateApiKey } from '../../src/security/api-keys.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { gatewaySuite, post, testPartners, waitFor, writeTestPartners } from '../helpers/gateway.js';
import { withControl } from '../helpers/x12.js';

const SAMPLE = readFileSync(path.join(MAPPINGS, 'acme-supply/samples/856-004060-SOI.edi'), 'latin1');

/** One interchange of `sets` ACME ship notices: the sample's set repeated, each with its own ST02 and shipment id (BSN02). */
function shipNotices(sets: number): string {
  const lines = SAMPLE.split('\n').filter(Boolean);
  const body = lines.slice(
    2,
    lines.findIndex((l) => l.startsWith('GE*')),
  );
  const parts = [`${lines[0]}\n${lines[1]}\n`];
  for (let n = 1; n <= sets; n++) {
    const st = String(n).padStart(9, '0');
    const numbered = (l: string) => l.replace('ST*856*0008', `ST*856*${st}`).replace('SE*31*0008', `SE*31*${st}`).replace('BSN*14*829716', `BSN*14*SHIP${n}`);
    parts.push(`${body.map(numbered).join('\n')}\n`);
  }
  parts.push(`GE*${sets}*49~\nIEA*1*000000049~\n`);
  return withControl(parts.join(''));
}

/** The test partners route each ship notice to two targets: the ERP over HTTP and a file drop. */
const ROUTES = ['erp-drop', 'erp-http'];

const count = async (q: Knex.QueryBuilder): Promise<number> => Number((await q.count<{ n: string }[]>({ n: '*' }))[0]?.n);
const distinct = async (q: Knex.QueryBuilder, column: string): Promise<number> => Number((await q.countDistinct<{ n: string }[]>({ n: column }))[0]?.n);

/** Everything interpretation left for one message, counted. */
async function written(knex: Knex, id: string) {
  const events = (type: string) => count(knex('events').where({ message_id: id, type }));
  return {
    state: (await knex('messages').first('state').where('id', id))?.state as string,
    documents: await count(knex('documents').where('message_id', id)),
    accepted: await count(knex('documents').where({ message_id: id, state: 'accepted' })),
    seqs: await distinct(knex('documents').where('message_id', id), 'seq'),
    deliveries: await count(knex('deliveries').where('message_id', id)),
    keys: await distinct(knex('deliveries').where('message_id', id), 'idempotency_key'),
    acceptedEvents: await events('document.accepted'),
    routedEvents: await events('routed'),
    acks: await events('ack.generated'),
  };
}

describe('a large X12 interchange: documents, deliveries and timeline written in batches', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let dir: string;
  let config: GatewayConfig;
  const log = createLogger('silent');
  before(async () => {
    db = await freshDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'gw-large-x12-'));
    const partnersDir = await writeTestPartners(dir, 'http://127.0.0.1:9/erp');
    config = await loadConfig({ partnersDir, mappingsDir: path.join(REPO, 'mappings'), env: { GATEWAY_DATA_DIR: dir } });
  });
  after(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const receive = async (x12: string): Promise<string> =>
    (
      await new Receiver(db.knex, { maxBatch: 1, maxWaitMs: 0 }).receive({
        partnerId: 'acme-supply',
        channel: 'rest',
        contentType: 'application/edi-x12',
        format: 'x12',
        bytes: Buffer.from(x12, 'latin1'),
      })
    ).messageId;

  it('writes one document per set, one delivery per route of each and their timeline; the same interchange again is a duplicate', async () => {
    // Two full batches of a thousand and a part of one.
    const sets = 2_345;
    const x12 = shipNotices(sets);
    const id = await receive(x12);
    assert.equal(await processBatch(db.knex, config, log, 1), 1);
    assert.deepEqual(await written(db.knex, id), {
      state: 'routed',
      documents: sets,
      accepted: sets,
      seqs: sets,
      deliveries: sets * ROUTES.length,
      keys: sets * ROUTES.length,
      acceptedEvents: sets,
      routedEvents: sets * ROUTES.length,
      acks: 1,
    });
    // Each document's deliveries carry its own stable keys and the clock time they were queued at.
    const last = await db
      .knex('deliveries as d')
      .select('d.*')
      .join('documents as doc', 'doc.id', 'd.document_id')
      .where('doc.seq', sets)
      .andWhere('doc.message_id', id);
    assert.deepEqual(
      last.map((d) => d.idempotency_key).sort(),
      ROUTES.map((t) => `${id}.${sets}.${t}`),
    );
    assert.ok(last.every((d) => d.queued_at instanceof Date && d.state === 'pending'));
    assert.equal((await db.knex('documents').first('document_number').where({ message_id: id, seq: sets }))?.document_number, `SHIP${sets}`);
    // The timeline tells each document's story in order: accepted, then routed.
    const story = await db.knex('events').select('type').where('document_id', last[0]?.document_id).orderBy('id');
    assert.deepEqual(
      story.map((e) => e.type),
      ['document.accepted', 'routed', 'routed'],
    );

    const again = await receive(x12);
    await processBatch(db.knex, config, log, 1);
    const copy = await written(db.knex, again);
    assert.equal(copy.state, 'duplicate');
    assert.equal(copy.documents, sets);
    assert.equal(await count(db.knex('documents').where({ message_id: again, state: 'duplicate' })), sets);
    assert.equal(copy.deliveries, 0);
    assert.equal(await count(db.knex('deliveries')), sets * ROUTES.length, 'no delivery was queued twice');
  });

  it("shows none of a message's documents before its transaction commits; a failure mid-way leaves none, and a replay writes each once", async () => {
    const sets = 3_000;
    const id = await receive(shipNotices(sets));
    // A worker lost after two batches were written (the interpreter answered 2,000 sets and more).
    let answered = 0;
    let seenMeanwhile = -1;
    const failing: Interpreter = {
      whole: inlineInterpreter.whole,
      edifact: inlineInterpreter.edifact,
      async x12(cfg, partner) {
        const inner = await inlineInterpreter.x12(cfg, partner);
        return {
          ...inner,
          async push(bytes) {
            if (answered > 2_200) {
              seenMeanwhile = await count(db.knex('documents').where('message_id', id));
              throw new GatewayError('GW_INTERPRET_RESOURCES', 'The interpretation worker of this message was replaced; the raw message is kept, replay it.');
            }
            const items = await inner.push(bytes);
            answered += items.filter((i) => i.kind === 'document').length;
            return items;
          },
        };
      },
    };
    await processBatch(db.knex, config, log, 1, failing);
    assert.equal(seenMeanwhile, 0, 'documents written in the open transaction are not visible to others');
    const failed = await written(db.knex, id);
    assert.deepEqual(failed, { ...failed, state: 'failed', documents: 0, deliveries: 0, acceptedEvents: 0, routedEvents: 0, acks: 0 });
    assert.equal((await db.knex('messages').first('problems').where('id', id))?.problems[0]?.code, 'GW_INTERPRET_RESOURCES');

    assert.equal((await replayMessage(db.knex, id)).action, 'reinterpret');
    await processBatch(db.knex, config, log, 1);
    const replayed = await written(db.knex, id);
    assert.deepEqual(replayed, {
      state: 'routed',
      documents: sets,
      accepted: sets,
      seqs: sets,
      deliveries: sets * ROUTES.length,
      keys: sets * ROUTES.length,
      acceptedEvents: sets,
      routedEvents: sets * ROUTES.length,
      acks: 1,
    });
    // A routed message is not interpreted again: nothing can be written twice.
    await assert.rejects(replayMessage(db.knex, id), (err: GatewayError) => err.code === 'GW_REPLAY_STATE');
    assert.deepEqual(await written(db.knex, id), replayed);
  });

  it('fails a second copy of the same documents or deliveries as a whole (unique keys), keeping the first', async () => {
    const id = await receive(shipNotices(1));
    const row: ClaimedMessage = { id, partner_id: 'acme-supply', format: 'x12', size_bytes: 0, correlation_id: id, file_name: null, raw: null, scopes: null };
    const partner = config.partners.get('acme-supply');
    assert.ok(partner);
    const doc = {
      seq: 1,
      type: 'asn' as const,
      schemaVersion: 1,
      profile: { id: 'p', version: 1 },
      canonical: '{}',
      problems: [],
      keys: { purchaseOrderNumbers: [] },
      sourceRef: 'ST 1',
    };
    const records = [documentRecords(partner, row, randomUUID(), doc, false), documentRecords(partner, row, randomUUID(), { ...doc, seq: 2 }, false)];
    await db.knex.transaction(async (trx) => {
      await copyDocuments(
        trx,
        records.map((r) => r.document),
      );
      await assert.rejects(
        trx.transaction((sp) => copyDocuments(sp, [{ ...(records[1]?.document as (typeof records)[1]['document']), id: randomUUID() }])),
        (err: { code?: string }) => err.code === '23505',
        'the same (message, seq) again',
      );
      const deliveries = records.flatMap((r) => r.deliveries);
      await queueDocumentDeliveries(trx, deliveries);
      await assert.rejects(
        trx.transaction((sp) => queueDocumentDeliveries(sp, [{ ...(deliveries[0] as (typeof deliveries)[0]), id: randomUUID() }])),
        (err: { code?: string }) => err.code === '23505',
        'the same idempotency key again',
      );
      // The connection goes on after a failed COPY: the first copies are all there.
      assert.equal(await count(trx('documents').where('message_id', id)), 2);
      assert.equal(await count(trx('deliveries').where('message_id', id)), 2 * ROUTES.length);
    });
  });

  it('stores in a COPY exactly what an INSERT stores: tabs, line breaks, backslashes, quotes, commas and nulls', async () => {
    const id = await receive(shipNotices(1));
    const tricky = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N \\\\', 'quote " and comma, {brace}', 'ünïcödé €'];
    // 64 and more events go in one COPY; fewer in INSERTs: both ways must store the same rows.
    const events = (n: number): TimelineEvent[] =>
      Array.from({ length: n }, (_, i) => ({
        message_id: id,
        type: 'rejected' as const,
        code: i % 2 ? null : 'GW_X12_ENVELOPE',
        detail: `${tricky[i % tricky.length]} #${i}`,
        data: { location: i % 3 ? { segment: tricky[i % tricky.length] } : null },
      }));
    await db.knex.transaction(async (trx) => {
      await recordEvents(trx, events(3));
      await recordEvents(trx, events(70));
    });
    const stored = await db.knex('events').select('code', 'detail', 'data').where({ message_id: id, type: 'rejected' }).orderBy('id');
    const expected = [...events(3), ...events(70)].map(({ code, detail, data }) => ({ code, detail, data }));
    assert.deepEqual(stored, expected);

    const row: ClaimedMessage = { id, partner_id: 'acme-supply', format: 'x12', size_bytes: 0, correlation_id: id, file_name: null, raw: null, scopes: null };
    const partner = config.partners.get('acme-supply');
    assert.ok(partner);
    const doc = {
      seq: 7,
      type: 'asn' as const,
      schemaVersion: 1,
      profile: { id: 'p', version: 1 },
      canonical: JSON.stringify({ note: tricky.join('|') }),
      problems: [],
      keys: { documentNumber: tricky[2] as string, purchaseOrderNumbers: tricky },
      sourceRef: tricky[0] as string,
    };
    await db.knex.transaction((trx) => copyDocuments(trx, [documentRecords(partner, row, randomUUID(), doc, false).document]));
    const back = await db.knex('documents').first('canonical', 'document_number', 'po_numbers', 'source_ref', 'profile_id').where({ message_id: id, seq: 7 });
    assert.deepEqual(back, {
      canonical: { note: tricky.join('|') },
      document_number: tricky[2],
      po_numbers: tricky,
      source_ref: tricky[0],
      profile_id: 'p',
    });
  });
});

describe('a large X12 interchange posted over REST', function () {
  this.timeout(300_000);
  const s = gatewaySuite();

  it('is written in the same batches and each document is delivered once to each route', async () => {
    // ACME without its 64 KiB limit, under another key.
    const key = generateApiKey('bulkshipper');
    const bulk = (testPartners(s.erp.url)['acme-supply.yaml'] as string)
      .replace('id: acme-supply', 'id: bulk-shipper')
      .replace(/apiKeys:\n(?: {4}- .*\n)+/, `apiKeys:\n    - { id: bulkshipper, sha256: ${key.sha256} }\n`)
      .replace(/limits: .*\n/, '');
    await writeFile(path.join(s.t.partnersDir, 'bulk-shipper.yaml'), bulk);
    await s.t.gw.reload();
    const sets = 1_500;
    const res = await post(s.url, key.key, 'application/edi-x12', shipNotices(sets));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.messageId as string;
    const state = async () => (await s.db.knex('messages').first('state').where('id', id))?.state as string;
    assert.equal(await waitFor('delivery', state, (v) => ['delivered', 'rejected', 'failed', 'dead'].includes(v), 240_000), 'delivered');
    const w = await written(s.db.knex, id);
    assert.deepEqual([w.documents, w.accepted, w.deliveries, w.keys], [sets, sets, sets * ROUTES.length, sets * ROUTES.length]);
    const keys = s.erp.requests.map((r) => r.headers['idempotency-key']).filter((k) => String(k).startsWith(id));
    assert.equal(keys.length, sets, 'the ERP got each document once');
    assert.equal(new Set(keys).size, sets);
  });
});
