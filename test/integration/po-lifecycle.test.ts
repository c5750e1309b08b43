import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { verifySignature } from '../../src/security/webhooks.js';
import { addUser } from '../../src/security/users.js';
import { REPO } from '../helpers/corpus.js';
import { PortalClient } from '../helpers/portal-client.js';
import { ACME_KEY, ERP, gatewaySuite, METRICS_TOKEN, NORTHWIND_KEY, post, status, waitFor } from '../helpers/gateway.js';
import { DocumentSchemas, type OpenApiDoc } from '../helpers/openapi.js';
import { sendOrder } from '../helpers/orders.js';
import { ADMIN } from '../helpers/security.js';
import { withControl } from '../helpers/x12.js';

const PO = 'PO-LIFE-0001';

/** ACME's open exceptions of a rule, as Prometheus scrapes them (0 when the series is absent). */
async function openExceptions(url: string, rule: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`gateway_exceptions_open{partner="acme-supply",rule="${rule}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const ORDER = {
  purchaseOrderNumber: PO,
  orderDate: '2026-11-23',
  currency: 'USD',
  lines: [
    { lineNumber: '1', buyerSku: 'DST-100245', vendorSku: '87787D', upc: '999999310145', quantity: 20, unit: 'each', unitPrice: 1.25 },
    { lineNumber: '2', buyerSku: 'DST-100246', vendorSku: '99887D', upc: '999999311746', quantity: 10, unit: 'each', unitPrice: 30 },
    { lineNumber: '3', buyerSku: 'DST-200001', vendorSku: 'AC-2001', upc: '012345678905', quantity: 5, unit: 'each', unitPrice: 4 },
  ],
};

/** ACME's tolerances: over-shipping is flagged, a price off by more than 2 % waits for a person. */
const TOLERANCES = `tolerances:
  quantityOver: { percent: 5 }
  unitPrice: { percent: 2, action: hold }
  shipDateLate: { days: 2 }
  duplicateInvoice: { action: hold }
`;

/** One X12 interchange from ACME with one transaction set (SE counts its segments). */
function interchange(functionalId: string, set: string, segments: string[]): string {
  const body = [`ST*${set}*0001`, ...segments, `SE*${segments.length + 2}*0001`];
  return withControl(
    `ISA*00*          *00*          *12*4405197800     *ZZ*DISTRIBUTOR    *261123*1200*U*00401*000000001*0*P*>~` +
      `GS*${functionalId}*4405197800*DISTRIBUTOR*20261123*1200*1*X*004010~${body.join('~')}~GE*1*1~IEA*1*000000001~`,
  );
}

const ACK_855 = interchange('PR', '855', [
  `BAK*00*AC*${PO}*20261123`,
  'PO1*1*20*EA*1.25**VP*87787D*UP*999999310145',
  'ACK*IA*20*EA*068*20261127',
  'PO1*2*10*EA*30**VP*99887D*UP*999999311746',
  'ACK*IA*10*EA*068*20261127',
  'PO1*3*5*EA*4**VP*AC-2001*UP*012345678905',
  'ACK*IR*0*EA',
  'CTT*3',
]);

/** Ships 22 of line 1's 20: 110 %. */
const ASN_856 = interchange('SH', '856', [
  'BSN*00*ASN-LIFE-1*20261127*0930',
  'HL*1**S',
  'DTM*011*20261127',
  'HL*2*1*O',
  `PRF*${PO}`,
  'HL*3*2*I',
  'LIN*1*VP*87787D*UP*999999310145',
  'SN1**22*EA',
  'CTT*3',
]);

/** Invoices the 22 at 1.3125: 5 % above the order's 1.25. */
const INVOICE_810 = interchange('IN', '810', [`BIG*20261128*INV-LIFE-1**${PO}`, 'IT1*1*22*EA*1.3125**UP*999999310145', 'TDS*2888', 'CTT*1']);

async function call(base: string, method: string, p: string, key: string, body?: unknown) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('purchase-order lifecycle: 850 → 855 → 856 → 810, tolerances, a held invoice released', function () {
  this.timeout(60_000);
  const s = gatewaySuite({
    // The ERP's own receiver also takes its event webhooks (under /erp/events/).
    env: (erpUrl) => ({ ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, ERP_EVENT_URLS: new URL('/erp/events/', erpUrl).href }),
    editPartners: (yaml) => (yaml.startsWith('id: acme-supply') ? `${yaml}${TOLERANCES}` : yaml),
  });
  const erp = (method: string, p: string, body?: unknown) => call(s.url, method, p, ERP.key, body);
  const ops = (method: string, p: string, body?: unknown) => call(s.url, method, p, ADMIN.key, body);
  const timeline = () => erp('GET', `/v1/erp/purchase-orders/${PO}`);
  const sendX12 = async (text: string) => {
    const r = await post(s.url, ACME_KEY, 'application/edi-x12', text);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.messageId as string;
  };
  const confirmedAfter = (po: Record<string, any>) => po.lines.map((l: any) => l.confirmed);
  let api: DocumentSchemas | undefined;
  /** What an answer breaks of the API document's schema `name` (decision 0039): its readers rely on that shape. */
  const undocumented = async (name: string, answer: unknown) => {
    api ??= new DocumentSchemas((await (await fetch(`${s.url}/openapi.json`)).json()) as OpenApiDoc);
    return api.problems(['components', 'schemas', name], answer);
  };

  it('links each document to the PO by line, raises exceptions, holds the invoice until a person releases it', async () => {
    const hook = new URL('/erp/events/business', s.erp.url).href;
    const subscribed = await erp('POST', '/v1/erp/subscriptions', { url: hook, types: ['exception.raised', 'po.status-changed'] });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    const sent = await sendOrder(s.url, ORDER);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal((await timeline()).body.status, 'ordered');

    await sendX12(ACK_855);
    const acked = await waitFor('the 855 to be linked', timeline, (r) => r.body.status === 'acknowledged');
    assert.deepEqual(confirmedAfter(acked.body), [20, 10, 0]);

    const asnId = await sendX12(ASN_856);
    await waitFor(
      'the ASN delivered',
      () => status(s.url, ACME_KEY, asnId),
      (r) => r.body.state === 'delivered',
    );
    const raised = await ops('GET', `/ops/v1/exceptions?poNumber=${PO}`);
    assert.deepEqual(
      raised.body.items.map((e: any) => [e.rule, e.action, e.state, e.hold, e.facts.line, e.facts.shipped, e.facts.expected]),
      [['quantity-over', 'deliver', 'open', null, '1', 22, 20]],
    );
    assert.equal(await openExceptions(s.url, 'quantity-over'), 1, 'the open exception shows on /metrics');
    await addUser(s.db.knex, { username: 'pim', displayName: 'Pim', role: 'partner-manager', partnerId: null }, 'pim manages partners', new Date());
    const pim = new PortalClient(() => s.url);
    await pim.signIn('pim', 'pim manages partners');
    const list = (await pim.request('/portal/partners')).text;
    const acmeRow = list.split('<tr>').find((row) => row.includes('<code>acme-supply</code>')) ?? '';
    assert.match(acmeRow, /<td>1<\/td><td>0<\/td><\/tr>/, 'the partner list shows one open exception (and no dead letter)');
    const raisedEvent = await waitFor(
      'exception.raised at the subscriber',
      async () => s.erp.requests.find((r) => r.path === '/erp/events/business' && (r.body as { type?: string }).type === 'exception.raised'),
      Boolean,
    );
    assert.ok(raisedEvent);
    assert.doesNotThrow(() => verifySignature(String(raisedEvent.headers['x-gateway-signature']), [subscribed.body.secret], raisedEvent.raw, 300));
    const raisedBody = raisedEvent.body as unknown as { partnerId: string; data: { rule: string; poNumber: string } };
    assert.deepEqual([raisedBody.partnerId, raisedBody.data.rule, raisedBody.data.poNumber], ['acme-supply', 'quantity-over', PO]);
    assert.ok(
      s.erp.requests.some((r) => r.body.type === 'asn'),
      'delivered anyway',
    );

    const invoiceId = await sendX12(INVOICE_810);
    const invoiced = await waitFor('the invoice to be linked', timeline, (r) => r.body.status === 'invoiced');
    const step = invoiced.body.timeline.at(-1);
    assert.equal(step.hold, 'held');
    const held = await ops('GET', '/ops/v1/holds?state=held');
    assert.deepEqual(
      held.body.items.map((h: any) => [h.messageId, h.state]),
      [[invoiceId, 'held']],
    );
    const invoiceDoc = held.body.items[0].documentId as string;
    // Held: no outbox row at all, so nothing can reach the ERP until a person decides.
    assert.equal((await s.db.knex('deliveries').where('document_id', invoiceDoc)).length, 0);
    assert.equal((await status(s.url, ACME_KEY, invoiceId)).body.state, 'routed');
    const priced = (await ops('GET', `/ops/v1/exceptions?rule=unit-price`)).body.items;
    assert.deepEqual(
      priced.map((e: any) => [e.documentId, e.action, e.facts.ordered, e.facts.found, e.facts.percent]),
      [[invoiceDoc, 'hold', 1.25, 1.3125, 5]],
    );

    const released = await ops('POST', `/ops/v1/documents/${invoiceDoc}/release`, { note: 'price agreed by phone' });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    assert.deepEqual([released.body.state, released.body.decidedBy, released.body.deliveries], ['released', 'admin:admintest', 1]);
    await waitFor(
      'the invoice delivered',
      () => status(s.url, ACME_KEY, invoiceId),
      (r) => r.body.state === 'delivered',
    );
    assert.ok(s.erp.requests.some((r) => r.body.type === 'invoice' && (r.body.document as any).invoiceNumber === 'INV-LIFE-1'));
    const audited = await s.db.knex('audit_log').where({ action: 'document.release', target: `document:${invoiceDoc}` });
    assert.deepEqual(
      audited.map((a) => [a.actor, a.outcome]),
      [['admin:admintest', 'ok']],
    );
    assert.equal((await ops('POST', `/ops/v1/documents/${invoiceDoc}/reject`, { note: 'too late' })).body.error.code, 'GW_EXCEPTION_STATE');

    const po = (await timeline()).body;
    assert.deepEqual(
      po.timeline.map((t: any) => [t.type, t.status, t.lines.map((l: any) => [l.ordered, l.confirmed, l.shipped, l.invoiced])]),
      [
        [
          'purchase-order',
          'ordered',
          [
            [20, null, 0, 0],
            [10, null, 0, 0],
            [5, null, 0, 0],
          ],
        ],
        [
          'po-ack',
          'acknowledged',
          [
            [20, 20, 0, 0],
            [10, 10, 0, 0],
            [5, 0, 0, 0],
          ],
        ],
        [
          'asn',
          'partially-shipped',
          [
            [20, 20, 22, 0],
            [10, 10, 0, 0],
            [5, 0, 0, 0],
          ],
        ],
        [
          'invoice',
          'invoiced',
          [
            [20, 20, 22, 22],
            [10, 10, 0, 0],
            [5, 0, 0, 0],
          ],
        ],
      ],
    );
    assert.deepEqual(
      po.timeline.map((t: any) => t.documentNumber),
      [PO, PO, 'ASN-LIFE-1', 'INV-LIFE-1'],
    );
    assert.equal(po.timeline.at(-1).hold, 'released');
    const statuses = await waitFor(
      'po.status-changed up to invoiced at the subscriber',
      async () => s.erp.requests.filter((r) => r.path === '/erp/events/business' && r.body.type === 'po.status-changed').map((r) => (r.body.data as any).to),
      (to) => to.includes('invoiced'),
    );
    assert.deepEqual([...new Set(statuses)].sort(), ['acknowledged', 'invoiced', 'ordered', 'partially-shipped'].sort());
    assert.deepEqual(await undocumented('PurchaseOrderLedger', po), []);
    assert.deepEqual(await undocumented('BusinessException', priced[0]), []);
    assert.deepEqual(await undocumented('HoldDecision', released.body), []);
  });

  it('an exception is resolved once, with a note, audited; a partner reads its own POs only', async () => {
    const [open] = (await ops('GET', '/ops/v1/exceptions?rule=quantity-over&state=open')).body.items;
    assert.equal((await ops('POST', `/ops/v1/exceptions/${open.id}/resolve`, {})).status, 400, 'a resolution needs a note');
    const resolved = await ops('POST', `/ops/v1/exceptions/${open.id}/resolve`, { note: 'two extra accepted' });
    assert.deepEqual([resolved.body.state, resolved.body.note, resolved.body.changedBy], ['resolved', 'two extra accepted', 'admin:admintest']);
    assert.equal((await ops('POST', `/ops/v1/exceptions/${open.id}/waive`, {})).body.error.code, 'GW_EXCEPTION_STATE');
    const events = await s.db.knex('events').where({ type: 'exception.resolved', document_id: open.documentId });
    assert.equal(events.length, 1);
    assert.equal(await openExceptions(s.url, 'quantity-over'), 0, 'a resolved exception is no longer open');

    const own = await call(s.url, 'GET', `/v1/purchase-orders/${PO}`, ACME_KEY);
    assert.deepEqual([own.status, own.body.status, own.body.exceptions], [200, 'invoiced', undefined]);
    assert.deepEqual(await undocumented('PartnerPurchaseOrder', own.body), []);
    assert.deepEqual(
      (await call(s.url, 'GET', '/v1/purchase-orders', ACME_KEY)).body.items.map((i: any) => i.purchaseOrderNumber),
      [PO],
    );
    assert.equal((await call(s.url, 'GET', `/v1/purchase-orders/${PO}`, NORTHWIND_KEY)).status, 404);

    // The ERP registers the same number for another partner (sent by mail): now the number is ambiguous.
    const registered = await erp('POST', '/v1/erp/partners/northwind/purchase-orders/registered', { ...ORDER, lines: ORDER.lines.slice(0, 1) });
    assert.deepEqual([registered.status, registered.body.source, registered.body.status], [201, 'registered', 'ordered']);
    assert.equal((await erp('POST', '/v1/erp/partners/northwind/purchase-orders/registered', ORDER)).body.error.code, 'GW_PO_EXISTS');
    assert.equal((await timeline()).body.error.code, 'GW_PO_AMBIGUOUS');
    assert.equal((await erp('GET', `/v1/erp/purchase-orders/${PO}?partner=acme-supply`)).body.status, 'invoiced');
  });

  it('a ship notice whose functional group is rejected afterwards is taken off the PO again', async () => {
    // GE01 says 2 sets where there is 1: the group's documents are rejected once its trailer is read.
    const badGroup = withControl(ASN_856.replace('SN1**22*EA', 'SN1**5*EA').replace('GE*1*1~', 'GE*2*1~'));
    const id = await sendX12(badGroup);
    await waitFor(
      'the ship notice rejected',
      () => status(s.url, ACME_KEY, id),
      (r) => r.body.state === 'rejected',
    );
    const po = (await erp('GET', `/v1/erp/purchase-orders/${PO}?partner=acme-supply`)).body;
    assert.deepEqual(
      po.lines.map((l: any) => l.shipped),
      [22, 0, 0],
    );
    assert.deepEqual(
      po.timeline.map((t: any) => t.type),
      ['purchase-order', 'po-ack', 'asn', 'invoice'],
    );
  });

  it("links a JSON partner's ship notice and invoice, sent together, to a PO the ERP registered", async () => {
    const order = {
      purchaseOrderNumber: 'PO-44120',
      orderDate: '2026-11-18',
      lines: [
        { lineNumber: '1', vendorSku: 'NW-CHAI-12', quantity: 12, unit: 'case', unitPrice: 18 },
        { lineNumber: '2', vendorSku: 'NW-SYRUP-6', quantity: 6, unit: 'each', unitPrice: 10 },
      ],
    };
    assert.equal((await erp('POST', '/v1/erp/partners/northwind/purchase-orders/registered', order)).status, 201);
    const samples = path.join(REPO, 'mappings', 'northwind', 'samples');
    const sent = await Promise.all(
      ['asn.json', 'invoice.json'].map(async (f) => post(s.url, NORTHWIND_KEY, 'application/json', await readFile(path.join(samples, f)))),
    );
    for (const r of sent)
      await waitFor(
        'delivered',
        () => status(s.url, NORTHWIND_KEY, r.body.messageId),
        (x) => x.body.state === 'delivered',
      );
    const po = (await call(s.url, 'GET', '/v1/purchase-orders/PO-44120', NORTHWIND_KEY)).body;
    assert.deepEqual(
      [po.source, po.status, po.lines.map((l: any) => [l.lineNumber, l.shipped, l.invoiced])],
      [
        'registered',
        'invoiced',
        [
          ['1', 12, 12],
          ['2', 6, 6],
        ],
      ],
    );
    assert.deepEqual(po.timeline.map((t: any) => t.type).sort(), ['asn', 'invoice', 'purchase-order']);
  });

  it('an invoice number used before is held as a duplicate; rejected by a person, it is never delivered', async () => {
    const again = await sendX12(withControl(INVOICE_810));
    const held = await waitFor(
      'the duplicate held',
      () => ops('GET', '/ops/v1/holds?state=held'),
      (r) => r.body.items.some((h: any) => h.messageId === again),
    );
    const doc = held.body.items.find((h: any) => h.messageId === again).documentId as string;
    const rules = (await ops('GET', `/ops/v1/exceptions?poNumber=${PO}&state=open`)).body.items.filter((e: any) => e.documentId === doc);
    assert.deepEqual(rules.map((e: any) => e.rule).sort(), ['duplicate-invoice', 'unit-price']);
    assert.equal((await ops('POST', `/ops/v1/documents/${doc}/reject`, {})).status, 400, 'a rejection needs a note');
    const rejected = await ops('POST', `/ops/v1/documents/${doc}/reject`, { note: 'sent twice' });
    assert.deepEqual([rejected.body.state, rejected.body.note, rejected.body.deliveries], ['rejected', 'sent twice', 0]);
    assert.equal((await ops('POST', `/ops/v1/documents/${doc}/release`, {})).body.error.code, 'GW_EXCEPTION_STATE');
    assert.equal((await s.db.knex('deliveries').where('document_id', doc)).length, 0);
    const audited = await s.db
      .knex('audit_log')
      .where({ target: `document:${doc}` })
      .orderBy('id');
    assert.deepEqual(
      audited.map((a) => [a.action, a.outcome, a.actor]),
      [
        ['document.reject', 'ok', 'admin:admintest'],
        ['document.release', 'denied', 'admin:admintest'],
      ],
    );
    const types = (await status(s.url, ACME_KEY, again)).body.timeline.map((t: any) => t.type);
    assert.ok(types.includes('document.held') && types.includes('document.hold-rejected'), types.join(' '));
  });
});
