import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { processBatch } from '../../src/pipeline/process.js';
import { Receiver, type Inbound } from '../../src/pipeline/receive.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { writeTestPartners } from '../helpers/gateway.js';

const sample = (file: string) => readFileSync(path.join(MAPPINGS, file));
const asn = JSON.parse(sample('northwind/samples/asn.json').toString()) as Record<string, unknown>;

/** Messages of every outcome a whole (JSON, XML, CSV) body can have. */
function messages(): Omit<Inbound, 'channel'>[] {
  const json = (body: unknown, extra: Partial<Inbound> = {}) => ({
    partnerId: 'northwind',
    contentType: 'application/json',
    format: 'json' as const,
    bytes: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    ...extra,
  });
  return [
    json(asn),
    json(JSON.parse(sample('northwind/samples/invoice.json').toString())),
    json('{"documentType": "ship-notice", '),
    json({ ...asn, shipmentNumber: undefined }),
    json(asn, { scopes: ['invoice:write'] }),
    json({ documentType: 'catalog' }),
    {
      partnerId: 'globex-office',
      contentType: 'application/xml',
      format: 'xml' as const,
      bytes: sample('globex-office/samples/ShipNoticeRequest-with-items.xml'),
    },
    { partnerId: 'hansen-textil', contentType: 'text/csv', format: 'csv' as const, bytes: sample('hansen-textil/samples/bestand-2026-11-20.csv') },
  ];
}

/** What interpretation left, without ids and times: per message (in order), its state, problems, documents, deliveries and timeline. */
async function outcome(knex: Knex, ids: string[]) {
  const out = [];
  for (const id of ids) {
    const m = await knex('messages').first('state', 'problems', 'attempts').where('id', id);
    const docs = await knex('documents').select('seq', 'type', 'state', 'document_number', 'problems', 'canonical').where('message_id', id).orderBy('seq');
    const deliveries = await knex('deliveries').select('idempotency_key', 'target_id', 'state').where('message_id', id).orderBy('idempotency_key');
    const events = await knex('events').select('type', 'code', 'detail', 'data').where('message_id', id).orderBy('id');
    out.push({
      ...m,
      docs,
      deliveries: deliveries.map((d) => ({ ...d, idempotency_key: d.idempotency_key.replace(id, 'ID') })),
      events: events.map((e) => ({ ...e, detail: e.detail.replace(id, 'ID') })),
    });
  }
  return out;
}

describe('interpretation: a batch of whole messages is written as each message alone would be', function () {
  this.timeout(60_000);
  const dbs: TestDatabase[] = [];
  /** Warnings the interpretation logged (a batch written at once that fell back to one by one says so). */
  const warnings: string[] = [];
  let dir: string;
  let config: GatewayConfig;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gw-batch-'));
    const partnersDir = await writeTestPartners(dir, 'http://127.0.0.1:9/erp');
    config = await loadConfig({ partnersDir, mappingsDir: path.join(REPO, 'mappings'), env: { GATEWAY_DATA_DIR: dir } });
  });
  after(async () => {
    for (const db of dbs) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Stores the messages, then interprets them `perTransaction` at a time; returns their ids in order. */
  async function run(perTransaction: number): Promise<{ knex: Knex; ids: string[] }> {
    const db = await freshDatabase();
    dbs.push(db);
    const receiver = new Receiver(db.knex, { maxBatch: 100, maxWaitMs: 2 });
    const log = createLogger('warn', new Writable({ write: (chunk, _enc, done) => (warnings.push(JSON.parse(String(chunk)).msg), done()) }));
    const ids: string[] = [];
    for (const m of messages()) ids.push((await receiver.receive({ ...m, channel: 'rest' })).messageId);
    while ((await processBatch(db.knex, config, log, perTransaction)) > 0);
    return { knex: db.knex, ids };
  }

  it('gives every message the same state, problems, documents, deliveries and timeline', async () => {
    const alone = await run(1);
    const together = await run(50);
    assert.deepEqual(warnings, [], 'the batch was written at once, without falling back to one message at a time');
    const expected = await outcome(alone.knex, alone.ids);
    assert.deepEqual(await outcome(together.knex, together.ids), expected);
    // The cases are what they claim to be: accepted and routed, rejected in several ways.
    assert.deepEqual(
      expected.map((m) => m.state),
      ['routed', 'routed', 'rejected', 'rejected', 'rejected', 'rejected', 'routed', 'routed'],
    );
    assert.ok(expected[4]?.docs[0]?.problems.some((p: { code: string }) => p.code === 'GW_AUTH_SCOPE'));
  });
});
