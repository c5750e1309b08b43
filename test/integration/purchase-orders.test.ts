import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseX12 } from '../../src/formats/x12/parse.js';
import { REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import type { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, ERP, gatewaySuite, post, status, testPartners, waitFor, type TestGateway } from '../helpers/gateway.js';
import { ERP_ORDER as ORDER, sendOrder } from '../helpers/orders.js';
import { withControl } from '../helpers/x12.js';

async function erpStatus(url: string, id: string) {
  const res = await fetch(`${url}/v1/erp/messages/${id}`, { headers: { authorization: `Bearer ${ERP.key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A 997 from the partner for one of our groups, as the partner would send it. */
function partnerAck(groupControl: string, status: 'A' | 'R', control: number): string {
  const interchangeControl = String(control).padStart(9, '0');
  const body =
    `ISA*00*          *00*          *12*4405197800     *ZZ*DISTRIBUTOR    *261123*1200*U*00401*${interchangeControl}*0*P*>~` +
    `GS*FA*4405197800*DISTRIBUTOR*20261123*1200*${control}*X*004010~` +
    `ST*997*0001~AK1*PO*${groupControl}~AK2*850*0001~AK5*${status}~AK9*${status}*1*1*${status === 'A' ? 1 : 0}~SE*6*0001~` +
    `GE*1*${control}~IEA*1*${interchangeControl}~`;
  return withControl(body, control);
}

describe('outbound purchase orders: ERP → X12 850 → partner, acknowledgments reconciled', function () {
  this.timeout(120_000);
  const suite = gatewaySuite({ env: { ACK_CHECK_MS: '100' } });
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: TestGateway;
  let url: string;
  before(() => ({ db, erp, t, url } = suite));

  it('renders the canonical order as an 850 in the partner envelope and puts it in the partner mailbox', async () => {
    const res = await sendOrder(url, ORDER, { 'x-correlation-id': 'erp-po-1' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.messageId as string;
    const box = (await (await fetch(`${url}/v1/outbound`, { headers: { authorization: `Bearer ${ACME_KEY}` } })).json()) as {
      items: { id: string; type: string; fileName: string }[];
    };
    const item = box.items.find((i) => i.id === id);
    assert.ok(item);
    assert.equal(item.type, '850');
    assert.equal(item.fileName, `850-${res.body.interchangeControl}.x12`);
    const text = Buffer.from(await (await fetch(`${url}/v1/outbound/${id}`, { headers: { authorization: `Bearer ${ACME_KEY}` } })).arrayBuffer());
    const [ic] = parseX12(text);
    assert.ok(ic);
    assert.deepEqual(
      [ic.sender, ic.receiver, ic.control, ic.standardVersion],
      [{ qualifier: 'ZZ', id: 'DISTRIBUTOR' }, { qualifier: '12', id: '4405197800' }, res.body.interchangeControl, '00401'],
    );
    assert.deepEqual(ic.problems, []);
    const g = ic.groups[0];
    assert.deepEqual([g?.functionalId, g?.control, g?.version, g?.problems], ['PO', res.body.groupControl, '004010', []]);
    const set = g?.sets[0];
    assert.deepEqual([set?.id, set?.control, set?.problems], ['850', res.body.setControl, []]);
    const segs = set?.segments.map((s) => [s.tag, ...s.elements].join('*'));
    assert.deepEqual(segs, [
      'BEG*00*SA*PO-20261123-01**20261123',
      'CUR*BY*USD',
      'DTM*002*20261201',
      'N1*ST*Distributor DC East*92*0099',
      'N3*1 Dock Rd',
      'N4*Newark*NJ*07101*US',
      'PO1*1*24*EA*1.25**BP*INT-100*VP*87787D*UP*999999310145',
      'PID*F****BLUE WIDGET',
      'PO1*2*2*CS*30****VP*99887D',
      'CTT*2',
    ]);
    const s = await erpStatus(url, id);
    assert.equal(s.body.acknowledgment.status, 'pending');
    const due = new Date(s.body.acknowledgment.dueAt).getTime();
    assert.ok(Math.abs(due - (Date.now() + 1440 * 60_000)) < 60_000, 'due after the partner window (1440 minutes)');
    assert.equal(s.body.correlationId, 'erp-po-1');
    assert.equal(s.body.documents[0].canonical.purchaseOrderNumber, 'PO-20261123-01');
  });

  it('answers a repeated Idempotency-Key with the order sent first, sending nothing new', async () => {
    const first = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-IDEM' }, { 'idempotency-key': 'po-idem-1' });
    const again = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-IDEM' }, { 'idempotency-key': 'po-idem-1' });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    assert.deepEqual(
      [again.body.messageId, again.body.interchangeControl, again.body.groupControl, again.body.setControl],
      [first.body.messageId, first.body.interchangeControl, first.body.groupControl, first.body.setControl],
    );
  });

  it('refuses an order that breaks the canonical schema, and callers that are not the ERP', async () => {
    const bad = await sendOrder(url, { ...ORDER, lines: [{ quantity: -1, unit: 'each', buyerSku: 'X' }] });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'GW_CANONICAL_INVALID');
    assert.equal(bad.body.error.location.pointer, '/lines/0/quantity');
    assert.equal((await sendOrder(url, ORDER, {}, ACME_KEY)).status, 401, 'a partner key is no ERP key');
    assert.equal((await sendOrder(url, ORDER, {}, ERP.key, 'suspended-co')).body.error.code, 'GW_AUTH_FORBIDDEN', 'a partner without outbound purchase orders');
  });

  it('reconciles the partner 997 with the 850: accepted, or rejected', async () => {
    for (const [verdict, expected, control] of [
      ['A', 'accepted', 800001],
      ['R', 'rejected', 800002],
    ] as const) {
      const sent = await sendOrder(url, { ...ORDER, purchaseOrderNumber: `PO-ACK-${verdict}` });
      const res = await post(url, ACME_KEY, 'application/edi-x12', partnerAck(sent.body.groupControl, verdict, control));
      const inbound = await waitFor(
        'reconciliation',
        () => status(url, ACME_KEY, res.body.messageId),
        (s) => s.body.state !== 'received',
      );
      assert.equal(inbound.body.state, 'processed', JSON.stringify(inbound.body.timeline));
      const s = await erpStatus(url, sent.body.messageId);
      assert.equal(s.body.acknowledgment.status, expected);
      const ev = s.body.timeline.find((e: { type: string }) => e.type === 'ack.received');
      assert.equal(ev.code, verdict);
      assert.equal(ev.data.inboundMessageId, res.body.messageId);
      const mailboxed = (await (await fetch(`${url}/v1/outbound`, { headers: { authorization: `Bearer ${ACME_KEY}` } })).json()) as {
        items: { relatedMessageId: string }[];
      };
      assert.ok(!mailboxed.items.some((i) => i.relatedMessageId === res.body.messageId), 'the 997 is not acknowledged');
    }
  });

  it('raises ack.overdue for an 850 whose acknowledgment is late', async () => {
    const sent = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-LATE' });
    await db
      .knex('messages')
      .where('id', sent.body.messageId)
      .update({ ack_due_at: new Date(Date.now() - 1000) });
    const s = await waitFor(
      'overdue',
      () => erpStatus(url, sent.body.messageId),
      (x) => x.body.acknowledgment.status === 'overdue',
    );
    const ev = s.body.timeline.find((e: { type: string }) => e.type === 'ack.overdue');
    assert.equal(ev.code, 'GW_ACK_OVERDUE');
  });
});

describe('control numbers: two gateway processes on one database', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let dir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    db = await freshDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'gw-two-'));
    await mkdir(path.join(dir, 'partners'));
    for (const [name, text] of Object.entries(testPartners('http://127.0.0.1:9/unused'))) await writeFile(path.join(dir, 'partners', name), text);
  });
  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `gateway start` as its own process and returns the URL it listens on. */
  async function startProcess(): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts'), 'start'], {
      cwd: REPO,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        PARTNERS_DIR: path.join(dir, 'partners'),
        GATEWAY_DATA_DIR: dir,
        ERP_API_KEYS: `erptest:${ERP.sha256}`,
        LOG_LEVEL: 'info',
        SFTP: 'off',
        HTTPS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'HTTP listening' && entry.url) {
        child.stdout?.resume();
        return entry.url;
      }
    }
    throw new Error('the gateway process ended before listening');
  }

  it('renders 1,000 purchase orders concurrently without using an ISA13, GS06 or ST02 twice', async () => {
    const urls = await Promise.all([startProcess(), startProcess()]);
    const total = 1000;
    let next = 0;
    const worker = async (url: string) => {
      while (next < total) {
        const n = next++;
        const res = await sendOrder(url, { ...ORDER, purchaseOrderNumber: `PO-PAR-${n}` });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
    };
    // Eight requests in flight against each process.
    await Promise.all(urls.flatMap((u) => Array.from({ length: 8 }, () => worker(u))));
    const rows: { raw: Buffer; x12_interchange: string; x12_group: string }[] = await db
      .knex('messages')
      .select('raw', 'x12_interchange', 'x12_group')
      .where({ direction: 'outbound', doc_type: '850' });
    assert.equal(rows.length, total);
    const isa = new Set<string>();
    const gs = new Set<string>();
    const st = new Set<string>();
    for (const r of rows) {
      const [ic] = parseX12(r.raw);
      assert.ok(ic && ic.problems.length === 0);
      isa.add(ic.control);
      gs.add(ic.groups[0]?.control ?? '');
      st.add(ic.groups[0]?.sets[0]?.control ?? '');
      assert.equal(String(Number(ic.control)), r.x12_interchange);
    }
    assert.deepEqual([isa.size, gs.size, st.size], [total, total, total]);
  });
});
