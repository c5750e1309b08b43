import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { MAPPINGS } from '../helpers/corpus.js';
import { ACME_KEY, gatewaySuite, METRICS_TOKEN, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';

/** Interpreted and, when routed, delivered or dead: nothing more happens to it. */
const settled = (x: { body: Record<string, any> }) => terminal(x) || ['duplicate', 'processed'].includes(x.body.state);
import { ERP_ORDER, sendOrder } from '../helpers/orders.js';
import { ADMIN } from '../helpers/security.js';
import { withControl } from '../helpers/x12.js';

const invoice = JSON.parse(readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8'));
const sample856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
const JSON_TYPE = 'application/json';

/** The exposition as Prometheus reads it: each series (`name{labels}`) with its value. */
type Series = { name: string; labels: Record<string, string>; value: number }[];

function parse(text: string): Series {
  const series: Series = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)].map((l) => [l[1], l[2]]));
    series.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return series;
}

/** The sum of the series of `name` whose labels include `labels` (0 when there is none). */
function value(series: Series, name: string, labels: Record<string, string> = {}): number {
  return series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

function has(series: Series, name: string): boolean {
  return series.some((s) => s.name === name);
}

describe('metrics and logs: a real gateway scraped on its loopback port', function () {
  this.timeout(30_000);
  const s = gatewaySuite({
    // One retryable failure pauses a target (the last test); the overdue check runs often; the SFTP door counts sessions.
    env: { DELIVERY_BREAKER_FAILURES: '1', DELIVERY_BREAKER_COOLDOWN_MS: '60000', ACK_CHECK_MS: '100', SFTP: 'on', SFTP_LOGIN_DELAY_MS: '0' },
    captureLogs: true,
    captureLevel: 'info',
  });

  const scrape = async (token = METRICS_TOKEN): Promise<Series> => {
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return parse(await res.text());
  };
  const nwInvoice = (number: string, extra: Record<string, unknown> = {}) => JSON.stringify({ ...invoice, invoiceNumber: number, ...extra });
  const done = async (id: string, key = NORTHWIND_KEY) => (await waitFor(`message ${id}`, () => status(s.url, key, id), settled)).body;

  it('serves /metrics only to the operator token: none, an admin key or another token is 401', async () => {
    assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
    for (const wrong of [ADMIN.key, `${METRICS_TOKEN}x`, NORTHWIND_KEY]) {
      const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${wrong}` } });
      assert.equal(res.status, 401, wrong);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'GW_AUTH_INVALID');
    }
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.match(String(res.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
    const series = parse(await res.text());
    assert.ok(has(series, 'process_cpu_user_seconds_total') && has(series, 'nodejs_eventloop_lag_seconds'), 'process metrics');
    // The expired YAML key of the test profile: negative seconds.
    assert.ok(value(series, 'gateway_credential_expiry_seconds', { kind: 'api-key', ref: 'acmeexpired', partner: 'acme-supply', source: 'yaml' }) < 0);
  });

  it('counts messages received, duplicate and rejected, documents by outcome and code, and deliveries by outcome and target', async () => {
    const before = await scrape();
    const nw = { partner: 'northwind', channel: 'rest', format: 'json' };
    // Accepted and delivered; then the same Idempotency-Key and bytes again (a door repeat).
    const good = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-1'), { 'idempotency-key': 'metrics-1' });
    assert.equal((await done(good.body.messageId)).state, 'delivered');
    const again = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-1'), { 'idempotency-key': 'metrics-1' });
    assert.equal(again.body.messageId, good.body.messageId);
    // A document that fails its schema: the message is rejected.
    const bad = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-BAD', { issuedOn: 'someday' }));
    assert.equal((await done(bad.body.messageId)).state, 'rejected');
    // The ERP refuses one invoice for good: dead letter at the first attempt.
    s.erp.respond = (req) => (req.body.document.invoiceNumber === 'NW-M-DEAD' ? 422 : 202);
    const dead = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-DEAD'));
    assert.equal((await done(dead.body.messageId)).state, 'dead');
    // The same X12 interchange twice: the second is a duplicate interchange.
    const x12 = withControl(sample856, 770001);
    assert.equal((await done((await post(s.url, ACME_KEY, 'application/edi-x12', x12)).body.messageId, ACME_KEY)).state, 'delivered');
    const repeat = await post(s.url, ACME_KEY, 'application/edi-x12', x12);
    assert.equal((await done(repeat.body.messageId, ACME_KEY)).state, 'duplicate');

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    assert.equal(moved('gateway_messages_received_total', nw), 3, 'good, bad, dead (the repeat is not a new message)');
    assert.equal(moved('gateway_messages_received_total', { partner: 'acme-supply', channel: 'rest', format: 'x12' }), 2);
    assert.equal(moved('gateway_messages_duplicate_total', { ...nw, detected: 'door' }), 1);
    assert.equal(moved('gateway_messages_duplicate_total', { partner: 'acme-supply', detected: 'interchange' }), 1);
    assert.equal(moved('gateway_messages_rejected_total', nw), 1);
    assert.equal(moved('gateway_documents_accepted_total', { partner: 'northwind', type: 'invoice' }), 2);
    assert.equal(moved('gateway_documents_accepted_total', { partner: 'acme-supply', type: 'asn' }), 1);
    assert.equal(moved('gateway_documents_rejected_total', { partner: 'northwind', type: 'invoice', code: 'GW_MAP_TRANSFORM' }), 1);
    const http = { target: 'erp-http', kind: 'http' };
    assert.equal(moved('gateway_delivery_attempts_total', http), 3, 'good, dead and the ASN');
    assert.equal(moved('gateway_deliveries_delivered_total', http), 2);
    assert.equal(moved('gateway_deliveries_delivered_total', { target: 'erp-drop', kind: 'file' }), 1);
    assert.equal(moved('gateway_delivery_failures_total', { ...http, code: 'GW_DELIVERY_REFUSED' }), 1);
    assert.equal(moved('gateway_deliveries_dead_total', { ...http, code: 'GW_DELIVERY_REFUSED' }), 1);
    assert.equal(moved('gateway_delivery_latency_seconds_count', http), 2);
    assert.ok(moved('gateway_delivery_latency_seconds_sum', http) > 0);
    for (const x of after) assert.ok(!/^[0-9a-f]{8}-/.test(Object.values(x.labels).join(' ')), `no message id as a label: ${x.name}`);
  });

  it('reads the queue, overdue acknowledgments, SFTP sessions and a registered exceptions source at scrape time', async () => {
    // A delivery the ERP holds is in flight (delivering) until it answers.
    let release = () => {};
    const held = new Promise<number>((resolve) => (release = () => resolve(202)));
    s.erp.respond = (req) => (req.body.document.invoiceNumber === 'NW-M-HELD' ? held : 202);
    const slow = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-HELD'));
    await waitFor('in flight', scrape, (x) => value(x, 'gateway_delivery_queue_depth', { target: 'erp-http', state: 'delivering' }) === 1);
    release();
    await done(slow.body.messageId);
    const q = await scrape();
    assert.equal(
      value(q, 'gateway_delivery_queue_depth', { target: 'erp-http' }),
      0,
      JSON.stringify(q.filter((x) => x.name.startsWith('gateway_delivery_queue'))),
    );
    // A purchase order whose 997 is late.
    const order = await sendOrder(s.url, { ...ERP_ORDER, purchaseOrderNumber: 'PO-METRICS-LATE' });
    await s.db
      .knex('messages')
      .where('id', order.body.messageId)
      .update({ ack_due_at: new Date(Date.now() - 1000) });
    await waitFor('overdue ack', scrape, (x) => value(x, 'gateway_acks_overdue', { partner: 'acme-supply' }) === 1);
    // An SSH connection open on the SFTP door, then closed.
    const socket = connect(s.t.gw.sftp?.port as number, '127.0.0.1', () => socket.write('SSH-2.0-metrics-test\r\n'));
    try {
      await waitFor('sftp session', scrape, (x) => value(x, 'gateway_sftp_sessions') === 1);
    } finally {
      socket.destroy();
    }
    await waitFor('sftp session closed', scrape, (x) => value(x, 'gateway_sftp_sessions') === 0);
    const mdns = await scrape();
    assert.deepEqual(
      ['awaited', 'owed'].map((direction) => mdns.some((x) => x.name === 'gateway_as2_mdns_pending' && x.labels.direction === direction)),
      [true, true],
    );
  });

  it('shows the age of the oldest due delivery while its target is paused', async () => {
    s.erp.respond = () => 503;
    const stuck = await post(s.url, NORTHWIND_KEY, JSON_TYPE, nwInvoice('NW-M-STUCK'));
    const series = await waitFor('overdue delivery', scrape, (x) => value(x, 'gateway_delivery_oldest_due_seconds', { target: 'erp-http' }) > 0.3);
    assert.equal(value(series, 'gateway_delivery_queue_depth', { target: 'erp-http', kind: 'http', state: 'pending' }), 1);
    assert.equal(value(series, 'gateway_delivery_failures_total', { target: 'erp-http', code: 'GW_DELIVERY_HTTP' }), 1);
    assert.equal(value(series, 'gateway_messages_awaiting_interpretation'), 0);
    assert.ok(stuck.body.messageId);
  });

  it('logs one info line per message received, rejected, duplicate, delivered and dead-lettered, with its partner, ids and numbers', async () => {
    const logs = s.t.logs;
    const line = (msg: string | RegExp, where: (l: Record<string, any>) => boolean = () => true) => {
      const found = logs.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)) && where(l));
      assert.ok(found.length > 0, `a "${msg}" line; got ${logs.map((l) => l.msg).join(' | ')}`);
      return found;
    };
    const received = line('message received', (l) => l.partner === 'northwind');
    for (const l of received) {
      assert.equal(l.level, 30, 'info');
      assert.match(l.messageId, /^[0-9a-f-]{36}$/);
      assert.ok(l.correlationId && l.channel === 'rest' && l.format === 'json' && l.bytes > 0);
    }
    const [rejected] = line('message rejected');
    assert.equal(rejected?.partner, 'northwind');
    assert.deepEqual(rejected?.codes, ['GW_MAP_TRANSFORM', 'GW_CANONICAL_INVALID']);
    assert.deepEqual(rejected?.documents, { accepted: 0, rejected: 1 });
    assert.ok(rejected?.messageId && rejected?.correlationId);
    const [door] = line(/^message duplicate/, (l) => l.partner === 'northwind');
    assert.equal(door?.idempotencyKey, 'metrics-1');
    line(/^message duplicate/, (l) => l.partner === 'acme-supply' && l.detected === 'interchange' && Boolean(l.correlationId));
    const delivered = line('delivered', (l) => l.documentNumber === 'NW-M-1');
    assert.equal(delivered.length, 1, 'one line for one delivery');
    assert.deepEqual(
      [delivered[0]?.level, delivered[0]?.partner, delivered[0]?.target, delivered[0]?.documentType, typeof delivered[0]?.latencyMs],
      [30, 'northwind', 'erp-http', 'invoice', 'number'],
    );
    assert.ok(delivered[0]?.messageId && delivered[0]?.correlationId && delivered[0]?.deliveryId);
    const [dead] = line('delivery dead-lettered');
    assert.deepEqual([dead?.partner, dead?.documentNumber, dead?.code], ['northwind', 'NW-M-DEAD', 'GW_DELIVERY_REFUSED']);
    assert.ok(dead?.messageId && dead?.correlationId);
    assert.ok(!JSON.stringify(logs).includes('"lines":'), 'no payload in the logs');
  });
});

describe('metrics on a port of their own (METRICS_PORT)', function () {
  this.timeout(30_000);
  const s = gatewaySuite({ env: { METRICS_PORT: '0' } });

  it('serves /metrics there, with the token only, and not on the partners’ port; the metrics port serves nothing else', async () => {
    const url = s.t.gw.metricsUrl as string;
    assert.ok(url && url !== s.url);
    assert.equal((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 404);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^# TYPE gateway_messages_received_total counter$/m);
    assert.ok(has(parse(text), 'process_cpu_user_seconds_total'));
    assert.equal((await fetch(`${url}/healthz`)).status, 404);
    assert.equal((await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${NORTHWIND_KEY}` } })).status, 404);
  });
});
