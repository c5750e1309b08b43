import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseXml } from '../../src/formats/xml/parse.js';
import { xmlPaths, xmlRoot } from '../../src/mapping/xml-source.js';
import { MAPPINGS } from '../helpers/corpus.js';
import type { TestDatabase } from '../helpers/db.js';
import type { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, ERP, gatewaySuite, GLOBEX_KEY, HANSEN_KEY, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';

const sample = (partner: string, file: string) => readFileSync(path.join(MAPPINGS, partner, 'samples', file));
const order = JSON.parse(readFileSync(path.join(MAPPINGS, 'x12-standard', 'samples', 'outbound', 'purchase-order.json'), 'utf8'));

async function sendOrder(url: string, partner: string, body: unknown) {
  const res = await fetch(`${url}/v1/erp/partners/${partner}/purchase-orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function collect(url: string, key: string, id: string) {
  const res = await fetch(`${url}/v1/outbound/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe('every source format over HTTP: cXML, CSV (Windows-1252), X12 cross-references; purchase orders out as cXML and JSON', function () {
  this.timeout(30_000);
  const suite = gatewaySuite();
  let db: TestDatabase;
  let erp: ErpReceiver;
  let url: string;
  before(() => ({ db, erp, url } = suite));

  for (const [what, file, type, check] of [
    [
      'a cXML ShipNoticeRequest',
      'ShipNoticeRequest-with-items.xml',
      'asn',
      (d: Record<string, any>) => assert.deepEqual([d.shipmentId, d.shipDateTime, d.orders[0].items.length], ['GX-SH-88120', '2026-11-20T04:40:00Z', 2]),
    ],
    [
      'a cXML InvoiceDetailRequest',
      'InvoiceDetailRequest-with-items.xml',
      'invoice',
      (d: Record<string, any>) => assert.deepEqual([d.invoiceNumber, d.totalAmount, d.taxAmount], ['GX-INV-30118', 326.03, 23.93]),
    ],
    [
      'a cXML ConfirmationRequest',
      'ConfirmationRequest_1.2.011_officeluv.xml',
      'po-ack',
      (d: Record<string, any>) =>
        assert.deepEqual([d.purchaseOrderNumber, d.lines.map((l: { unit: string }) => l.unit)], ['400-2591453-0', ['ream', 'box', 'each']]),
    ],
  ] as const) {
    it(`delivers ${what} posted as application/xml to the ERP as a canonical ${type}`, async () => {
      const res = await post(url, GLOBEX_KEY, 'application/xml', sample('globex-office', file));
      assert.equal(res.status, 202);
      const s = await waitFor('delivery', () => status(url, GLOBEX_KEY, res.body.messageId), terminal);
      assert.equal(s.body.state, 'delivered', JSON.stringify(s.body.documents?.[0]?.problems));
      const got = erp.requests.find((r) => r.body.messageId === res.body.messageId);
      assert.equal(got?.headers['x-gateway-document-type'], `${type}/v1`);
      check(got?.body.document);
    });
  }

  it('refuses XML that declares entities, keeping the message visible with GW_XML_DTD', async () => {
    const bomb = '<?xml version="1.0"?>\n<!DOCTYPE cXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<cXML>&b;</cXML>';
    const res = await post(url, GLOBEX_KEY, 'text/xml', bomb);
    assert.equal(res.status, 202);
    const s = await waitFor('processing', () => status(url, GLOBEX_KEY, res.body.messageId), terminal);
    assert.equal(s.body.state, 'rejected');
    assert.equal(s.body.problems[0].code, 'GW_XML_DTD');
    assert.equal(s.body.problems[0].location.line, 2);
    assert.equal(erp.requests.filter((r) => r.body.messageId === res.body.messageId).length, 0);
  });

  it('delivers a Windows-1252 CSV stock report and price list with decimal commas', async () => {
    const stock = sample('hansen-textil', 'bestand-2026-11-20.csv');
    assert.equal(stock.includes(Buffer.from('weiß', 'utf8')), false, 'the sample really is Windows-1252');
    const res = await post(url, HANSEN_KEY, 'text/csv; charset=windows-1252', stock);
    const s = await waitFor('delivery', () => status(url, HANSEN_KEY, res.body.messageId), terminal);
    assert.equal(s.body.state, 'delivered');
    const inv = erp.requests.find((r) => r.body.messageId === res.body.messageId)?.body.document as { items: { description: string; quantities: unknown[] }[] };
    assert.equal(inv.items[0]?.description, 'Handtuch 50x100 weiß');
    assert.deepEqual(inv.items[0]?.quantities, [
      { kind: 'on-hand', quantity: 1250, unit: 'each' },
      { kind: 'on-order', quantity: 400, unit: 'each', date: '2026-12-05' },
    ]);
    const prices = await post(url, HANSEN_KEY, 'text/csv', sample('hansen-textil', 'preisliste-2026-12.csv'));
    const p = await waitFor('delivery', () => status(url, HANSEN_KEY, prices.body.messageId), terminal);
    assert.equal(p.body.documents[0].type, 'price-list');
    assert.equal(p.body.documents[0].canonical.items[2].unitPrice, 1049);
  });

  it('holds an 856 with an unknown supplier SKU as a rejected document naming the table, and sends nothing to the ERP', async () => {
    const res = await post(url, ACME_KEY, 'application/edi-x12', sample('acme-supply', '856-004010-unknown-sku.edi'));
    const s = await waitFor('processing', () => status(url, ACME_KEY, res.body.messageId), terminal);
    assert.equal(s.body.state, 'rejected');
    const [problem] = s.body.documents[0].problems;
    assert.equal(problem.code, 'GW_MAP_XREF');
    assert.match(problem.message, /"AC-9999" is not in cross-reference table items \(mappings\/acme-supply\/xref\/items\.csv/);
    assert.deepEqual([problem.location.segment, problem.location.line, problem.location.rule], ['LIN', 21, 'fields.orders.fields.items.fields.buyerSku']);
    assert.equal(erp.requests.filter((r) => r.body.messageId === res.body.messageId).length, 0);
    const ok = await post(url, ACME_KEY, 'application/edi-x12', sample('acme-supply', '856-004010-cases-xref.edi'));
    const d = await waitFor('delivery', () => status(url, ACME_KEY, ok.body.messageId), terminal);
    assert.deepEqual(
      d.body.documents[0].canonical.orders[0].items.map((i: { buyerSku: string; quantity: number; unit: string }) => `${i.buyerSku} ${i.quantity} ${i.unit}`),
      ['DST-200001 24 each', 'DST-200002 24 each', 'DST-100245 36 each'],
    );
  });

  it('renders a purchase order as cXML OrderRequest for the cXML partner, collected from its mailbox as XML', async () => {
    const res = await sendOrder(url, 'globex-office', { ...order, purchaseOrderNumber: 'PO-CXML-1' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual([res.body.format, res.body.fileName], ['xml', 'purchase-order-PO-CXML-1.xml']);
    const got = await collect(url, GLOBEX_KEY, res.body.messageId);
    assert.equal(got.status, 200);
    assert.match(got.type, /^application\/xml/);
    const root = xmlRoot(parseXml(Buffer.from(got.text)));
    assert.equal(root.get(xmlPaths.value('/cXML/Request/OrderRequest/OrderRequestHeader/@orderID'))?.value, 'PO-CXML-1');
    assert.equal(root.get(xmlPaths.value('/cXML/@payloadID'))?.value, `${res.body.messageId}@partner-gateway`);
    assert.equal(root.each(xmlPaths.selector('/cXML/Request/OrderRequest/ItemOut')).length, 2);
    const doc = await db.knex('documents').where('message_id', res.body.messageId).first();
    assert.deepEqual([doc.profile_id, doc.profile_version], ['globex-office/order-request-cxml', 1]);
  });

  it('renders a purchase order as JSON for the JSON partner, and refuses one the profile cannot render', async () => {
    const res = await sendOrder(url, 'northwind', { ...order, purchaseOrderNumber: 'PO-JSON-1' });
    assert.equal(res.status, 201);
    const got = await collect(url, NORTHWIND_KEY, res.body.messageId);
    assert.match(got.type, /^application\/json/);
    assert.deepEqual(
      JSON.parse(got.text).lines.map((l: { sku: string }) => l.sku),
      ['GX-PAPER-A4', 'GX-TONER-85A'],
    );
    const { totalAmount: _omit, ...noTotal } = order;
    const bad = await sendOrder(url, 'globex-office', { ...noTotal, purchaseOrderNumber: 'PO-CXML-2' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'GW_MAP_REQUIRED');
    assert.match(
      bad.body.error.message,
      new RegExp(
        [
          'cannot be rendered with globex-office/order-request-cxml v1: ',
          'Rule fields\\.cXML\\.fields\\.Request\\.fields\\.OrderRequest\\.fields\\.OrderRequestHeader\\.fields\\.Total\\.fields\\.Money\\.fields\\.#text ',
          'requires a value',
        ].join(''),
      ),
    );
    assert.equal(
      await db
        .knex('messages')
        .where({ partner_id: 'globex-office', direction: 'outbound' })
        .count('* as n')
        .first()
        .then((r) => Number(r?.n)),
      1,
      'nothing stored for the refused order',
    );
  });
});
