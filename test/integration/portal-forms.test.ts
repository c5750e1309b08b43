import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isValidSscc } from '../../src/formats/gs1/sscc.js';
import { runCli } from '../helpers/cli.js';
import { gatewaySuite, waitFor } from '../helpers/gateway.js';
import { ERP_ORDER, sendOrder } from '../helpers/orders.js';
import { PortalClient } from '../helpers/portal-client.js';

const PASSWORD = 'suppliers use long passwords';
/** A GS1 SSCC whose check digit is right (0 0614141 123456789 + 0), and the same with a typo. */
const GOOD_SSCC = '006141411234567890';
const BAD_SSCC = '006141411234567891';

/** The text of the problem shown beside a field (its aria-describedby target). */
function besideField(html: string, field: string): string {
  const id = `error-${field.replaceAll('.', '-')}`;
  assert.match(html, new RegExp(`aria-describedby="${id}" aria-invalid="true"`), `the field ${field} points at its problem`);
  return new RegExp(`<p class="field-error" id="${id}">([\\s\\S]*?)</p>`).exec(html)?.[1] ?? '';
}

describe('portal supplier forms: ship notice and invoice by form (real server, real HTTP)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const ada = new PortalClient(() => suite.url);
  const nora = new PortalClient(() => suite.url);
  let order: string;

  before(async () => {
    const env = { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir };
    const added = await Promise.all([
      runCli(['users', 'add', 'ada', '--role', 'supplier', '--partner', 'acme-supply'], { env, input: PASSWORD }),
      runCli(['users', 'add', 'nora', '--role', 'supplier', '--partner', 'northwind'], { env, input: PASSWORD }),
    ]);
    for (const r of added) assert.equal(r.status, 0, r.stderr);
    await Promise.all([ada.signIn('ada', PASSWORD), nora.signIn('nora', PASSWORD)]);
    const sent = await sendOrder(suite.url, ERP_ORDER);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    order = sent.body.messageId as string;
  });

  it('shows a bad SSCC, a quantity that is not a number and a missing ship date beside their fields, and sends nothing', async () => {
    const before = await suite.db.knex('messages').where({ partner_id: 'acme-supply', direction: 'inbound' }).count<{ count: string }[]>('* as n');
    const form = await ada.formFields(`/portal/asn/new?po=${order}`, '/portal/asn/new');
    assert.equal(form['line.0.qty'], '24', 'prefilled with the ordered quantity');
    const r = await ada.request('/portal/asn/new', {
      form: { ...form, 'line.0.qty': 'twelve', shipDate: '', 'pack.0.sscc': BAD_SSCC, 'pack.0.line': '1', 'pack.0.qty': '2', action: 'submit' },
    });
    assert.equal(r.status, 422, r.text);
    assert.match(besideField(r.text, 'pack.0.sscc'), /^<code>GW_SSCC_INVALID<\/code> Pack 1: the check digit of SSCC 006141411234567891 is wrong/);
    assert.match(besideField(r.text, 'line.0.qty'), /^<code>GW_CANONICAL_INVALID<\/code> \/orders\/0\/items\/0\/quantity must be number/);
    assert.match(besideField(r.text, 'shipDate'), /^<code>GW_CANONICAL_INVALID<\/code> The canonical document has no \/shipDate, which is required/);
    assert.match(r.text, /value="twelve"/, 'what the person typed stays in the form');
    const after = await suite.db.knex('messages').where({ partner_id: 'acme-supply', direction: 'inbound' }).count<{ count: string }[]>('* as n');
    assert.deepEqual(after, before);
  });

  it('submits a ship notice once per form: a canonical message through the receiver, delivered to the ERP', async () => {
    const form = await ada.formFields(`/portal/asn/new?po=${order}`, '/portal/asn/new');
    const filled = {
      ...form,
      'line.1.qty': '',
      carrier: 'UPS',
      tracking: '1Z999',
      'pack.0.sscc': GOOD_SSCC,
      'pack.0.line': '0',
      'pack.0.qty': '20',
      action: 'submit',
    };
    const [first, again] = [await ada.request('/portal/asn/new', { form: filled }), await ada.request('/portal/asn/new', { form: filled })];
    assert.equal(first.status, 303, first.text);
    assert.deepEqual([again.status, again.location], [303, first.location], 'the same form posted twice is one message');
    const id = /^\/portal\/asn\/([0-9a-f-]{36})$/.exec(first.location ?? '')?.[1] as string;
    const row = await suite.db.knex('messages').where({ id }).first('channel', 'content_type', 'format', 'raw');
    assert.deepEqual([row.channel, row.content_type, row.format], ['portal', 'application/vnd.gateway.asn.v1+json', 'json']);
    const page = await waitFor(
      'the ship notice to be delivered',
      () => ada.request(`/portal/asn/${id}`),
      (p) => /<dd id="state">delivered<\/dd>/.test(p.text),
      30_000,
    );
    assert.match(page.text, new RegExp(`<a href="/portal/asn/${id}/labels.pdf">Print carton labels</a>`));
    const got = suite.erp.requests.filter((q) => q.body.type === 'asn' && (q.body.document as { shipmentId?: string }).shipmentId === form.shipmentId);
    assert.equal(got.length, 1);
    const asn = got[0]?.body.document as { carrier: unknown; trackingNumber: string; orders: { items: { quantity: number; packageId?: string }[] }[] };
    assert.deepEqual(asn.carrier, { name: 'UPS' });
    assert.equal(asn.trackingNumber, '1Z999');
    assert.deepEqual(
      asn.orders[0]?.items.map((i) => [i.quantity, i.packageId ?? null]),
      [
        [20, GOOD_SSCC],
        [4, null],
      ],
      'line 1: 20 in the carton, 4 loose; line 2 not shipped',
    );
    const accepted = await suite.db.knex('events').where({ message_id: id, type: 'document.accepted' }).first('detail');
    assert.match(accepted.detail, /taken as canonical asn v1/);
    const home = await ada.request('/portal/');
    assert.match(home.text, new RegExp(`<a href="/portal/submissions/${id}">asn ${form.shipmentId}</a> \\(accepted\\)`), 'the order lists its ship notice');
  });

  it("numbers packs without an SSCC from the partner's GS1 company prefix, never the same SSCC twice, and keeps them in the draft", async () => {
    const form = await ada.formFields(`/portal/asn/new?po=${order}`, '/portal/asn/new');
    const numbered = await ada.request('/portal/asn/new', {
      form: { ...form, 'pack.0.line': '0', 'pack.0.qty': '12', 'pack.1.line': '0', 'pack.1.qty': '12', 'pack.2.sscc': GOOD_SSCC, action: 'number' },
    });
    assert.equal(numbered.status, 200, numbered.text);
    const given = [...numbered.text.matchAll(/name="pack\.([01])\.sscc" value="(\d+)"/g)].map((m) => m[2] as string);
    assert.equal(given.length, 2, 'both packs without an SSCC got one');
    for (const sscc of given) {
      assert.match(sscc, /^00614141\d{10}$/, 'extension digit 0, then the prefix');
      assert.ok(isValidSscc(sscc), `${sscc} carries its check digit`);
    }
    assert.notEqual(given[0], given[1]);
    assert.match(numbered.text, new RegExp(`name="pack\\.2\\.sscc" value="${GOOD_SSCC}"`), 'a typed SSCC is kept');
    assert.match(numbered.text, new RegExp(`role="status">Draft saved; new SSCCs for 2 pack\\(s\\): ${given.join(', ')}`));
    const draft = /name="draft" value="([^"]+)"/.exec(numbered.text)?.[1];
    const reopened = await ada.formFields(`/portal/asn/new?draft=${draft}`, '/portal/asn/new');
    assert.deepEqual([reopened['pack.0.sscc'], reopened['pack.1.sscc']], given);
    const again = await ada.request('/portal/asn/new', { form: { ...form, 'pack.0.line': '0', action: 'number' } });
    const next = /name="pack\.0\.sscc" value="(\d+)"/.exec(again.text)?.[1] as string;
    assert.ok(!given.includes(next), `a later form gets a new SSCC (${next})`);
    const nora = await noraForm();
    assert.doesNotMatch(nora, /Number packs without an SSCC/, 'a partner without a prefix is not offered numbering');
  });

  it('saves a draft and reopens it with what was typed', async () => {
    const form = await ada.formFields(`/portal/invoices/new?po=${order}`, '/portal/invoices/new');
    const saved = await ada.request('/portal/invoices/new', { form: { ...form, taxRate: '8', freight: '12.5', action: 'save' } });
    assert.equal(saved.status, 200, saved.text);
    assert.match(saved.text, /Draft saved/);
    // 24 × 1.25 + 2 × 30 = 90; tax 8 % = 7.20; freight 12.50.
    assert.match(saved.text, /Total due<\/th><td><strong>109\.70 USD<\/strong>/);
    const draft = /name="draft" value="([0-9a-f-]{36})"/.exec(saved.text)?.[1] as string;
    const reopened = await ada.formFields(`/portal/invoices/new?draft=${draft}`, '/portal/invoices/new');
    assert.deepEqual([reopened.taxRate, reopened.freight, reopened.draft], ['8', '12.5', draft]);
  });

  /** Northwind's ship-notice form for an order of its own. */
  async function noraForm(): Promise<string> {
    const sent = await sendOrder(suite.url, { ...ERP_ORDER, purchaseOrderNumber: `PO-NW-${randomUUID().slice(0, 8)}` }, {}, undefined, 'northwind');
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const page = await nora.request(`/portal/asn/new?po=${sent.body.messageId}`);
    assert.equal(page.status, 200, page.text);
    return page.text;
  }

  it("answers another partner's order, ship notice or draft exactly as a missing one", async () => {
    const asn = await suite.db.knex('documents').where({ partner_id: 'acme-supply', type: 'asn' }).first('message_id');
    const draft = await suite.db.knex('portal_drafts').where({ partner_id: 'acme-supply' }).first('id');
    assert.ok(asn && draft, 'the earlier tests left a ship notice and a draft');
    const missing = await nora.request(`/portal/asn/new?po=${randomUUID()}`);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /<code>GW_NOT_FOUND<\/code>/);
    for (const path of [
      `/portal/asn/new?po=${order}`,
      `/portal/invoices/new?po=${order}`,
      `/portal/invoices/new?asn=${asn.message_id}`,
      `/portal/asn/${asn.message_id}`,
      `/portal/invoices/new?draft=${draft.id}`,
      `/portal/asn/new?draft=not-an-id`,
    ]) {
      const r = await nora.request(path);
      assert.deepEqual([r.status, r.text], [missing.status, missing.text], path);
    }
    const form = await ada.formFields(`/portal/asn/new?po=${order}`, '/portal/asn/new');
    const posted = await nora.request('/portal/asn/new', { form: { ...form, csrf: await noraCsrf(), action: 'submit' } });
    assert.deepEqual([posted.status, posted.text], [missing.status, missing.text], "posting another partner's order");
    const home = await nora.request('/portal/');
    assert.doesNotMatch(home.text, new RegExp(ERP_ORDER.purchaseOrderNumber), "another partner's orders are not listed");
  });

  async function noraCsrf(): Promise<string> {
    const home = await nora.request('/portal/');
    return /name="csrf" value="([^"]+)"/.exec(home.text)?.[1] as string;
  }
});
