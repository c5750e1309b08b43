import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ERROR_CODES } from '../../src/errors.js';
import { addUser } from '../../src/security/users.js';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ErpReceiver } from '../helpers/erp.js';
import { gatewaySuite, mappingsCopy, post, status, terminal, waitFor } from '../helpers/gateway.js';
import { NOVA, novaProfile } from '../helpers/nova.js';
import { PortalClient } from '../helpers/portal-client.js';

const PASSWORD = 'partner manager password 1';
const ASN = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');

describe('partner pages: a partner manager takes a new supplier from onboarding to live in a real browser', function () {
  this.timeout(180_000);
  // A copy of mappings/: a partner made from a template writes its profile there.
  const s = gatewaySuite({ env: { MAPPINGS_DIR: mappingsCopy() } });
  const testErp = new ErpReceiver();
  const b = browserSuite(() => ({ baseURL: s.url, viewport: { width: 1280, height: 900 } }));

  /** Nova sends a ship notice over REST; the ERP receivers it reached. */
  async function shipNotice(n: string): Promise<string[]> {
    const r = await post(s.url, NOVA.key, 'application/json', ASN.replace('NW-SH-10045', `NOVA-${n}`));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await waitFor(`${n} settles`, () => status(s.url, NOVA.key, r.body.messageId), terminal, 30_000);
    assert.equal(done.body.state, 'delivered', JSON.stringify(done.body.timeline));
    return done.body.deliveries.map((d: { target: string }) => d.target);
  }

  before(async () => {
    await testErp.start();
    await writeFile(path.join(s.t.partnersDir, 'nova-parts.yaml'), novaProfile(testErp.url, s.erp.url));
    await s.t.gw.reload();
    await addUser(s.db.knex, { username: 'pia', displayName: 'Pia', role: 'partner-manager', partnerId: null }, PASSWORD, new Date());
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, new Date());
  });
  after(() => testErp.stop());

  it('lists the partner in onboarding, refuses go-live until the checklist is complete, then puts it live; documents follow the state', async () => {
    const { page } = b;
    await signIn(page, 'pia', PASSWORD);
    await page.getByRole('link', { name: 'Partners' }).click();
    await page.waitForURL('**/portal/partners');
    const row = page.getByRole('row', { name: /Nova Parts/ });
    assert.match((await row.textContent()) ?? '', /onboarding \(from the profile; the database has no state for it yet\).*rest.*asn.*none yet/s);
    await b.screenshot('portal-partners-list');

    await row.getByRole('link', { name: 'Nova Parts (test)' }).click();
    await page.waitForURL('**/portal/partners/nova-parts');
    assert.ok((await page.locator('ol.raw li').allTextContents()).includes('state: onboarding'), 'the profile file, line by line');
    assert.match((await page.locator('ul.checklist').textContent()) ?? '', /missing: test-message:asn/);

    await page.getByLabel('Move to').selectOption('testing');
    await page.getByLabel(/I confirm: move nova-parts/).check();
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Move' }).click())).status(), 303);
    assert.match((await page.locator('#state').textContent()) ?? '', /^testing \(from the database; the profile says onboarding\)/);

    // Go-live before the checklist is complete: refused with its code, naming what is missing.
    await page.getByLabel(/I confirm: nova-parts goes live/).check();
    const refused = await submitForm(page, () => page.getByRole('button', { name: 'Go live' }).click());
    assert.equal(refused.status(), ERROR_CODES.GW_PARTNER_NOT_READY.status);
    const why = (await page.locator('main').textContent()) ?? '';
    assert.match(why, /GW_PARTNER_NOT_READY/);
    assert.match(why, /test-message:asn/);
    await b.screenshot('portal-partner-go-live-refused');
    await page.goto('/portal/partners/nova-parts');

    assert.deepEqual(await shipNotice('T1'), ['erp-test'], 'in testing: the test route only');
    assert.equal(s.erp.requests.length, 0, 'nothing reached the production ERP');
    await page.reload();

    await page.getByLabel(/Approved by/).fill('Pia Partner-Manager');
    await submitForm(page, () => page.getByRole('button', { name: 'Record the approval' }).click());
    assert.doesNotMatch((await page.locator('ul.checklist').textContent()) ?? '', /missing/, 'the checklist is complete');
    await page.getByLabel(/I confirm: nova-parts goes live/).check();
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Go live' }).click())).status(), 303);
    await page.getByText('The partner is live.').waitFor();
    assert.match((await page.locator('#state').textContent()) ?? '', /^live \(from the database/);
    await b.screenshot('portal-partner-live');
    assert.deepEqual(await shipNotice('L1'), ['erp-http'], 'live: production only');

    const audit = await s.db.knex('audit_log').where({ actor: 'portal:pia' }).orderBy('id').pluck('action');
    assert.ok(audit.length >= 3, `each step audited with the user: ${audit.join(', ')}`);
  });

  it('creates a supplier from the REST + CSV template: onboarding, its API key once, its CSV ship notices to the test drop, then live', async () => {
    const { page } = b;
    await signIn(page, 'pia', PASSWORD);
    await page.goto('/portal/partners');
    await page.getByRole('link', { name: 'New partner from a template' }).click();
    await page.getByLabel(/Partner id/).fill('initrode');
    await page.getByLabel('Name', { exact: true }).fill('Initrode Supply');
    await page.getByLabel('Template').selectOption('rest-csv-asn');
    await page.getByLabel(/Production ERP URL/).fill(`${s.erp.url}`);
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: /Create the partner/ }).click())).status(), 201);
    const key = ((await page.locator('#secret').textContent()) ?? '').trim();
    assert.match(key, /^gw_/, 'the API key, shown once');
    await b.screenshot('portal-partner-created');
    const profile = readFileSync(path.join(s.t.partnersDir, 'initrode.yaml'), 'utf8');
    assert.match(profile, /^state: onboarding$/m, 'the file on disk is the configuration');

    const csv = (n: string) => `Shipment,Shipped,Tracking,PO,SKU,Qty,UOM\nIR-${n},11/20/2026,1Z1,PO-77,IN-100,4,CS\n`;
    const send = async (n: string) => {
      const r = await post(s.url, key, 'text/csv', csv(n));
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const done = await waitFor(`${n} settles`, () => status(s.url, key, r.body.messageId), terminal, 30_000);
      assert.equal(done.body.state, 'delivered', JSON.stringify(done.body.timeline));
      return done.body.deliveries.map((d: { target: string }) => d.target);
    };
    await page.getByRole('link', { name: 'Open initrode' }).click();
    assert.match((await page.locator('#state').textContent()) ?? '', /^onboarding/);
    assert.match((await page.locator('ul.checklist').textContent()) ?? '', /done: credentials:rest/, 'the key issued ticks the credentials');
    assert.deepEqual(await send('1'), ['test-drop'], 'onboarding: the test drop only');

    await page.getByLabel('Move to').selectOption('testing');
    await page.getByLabel(/I confirm: move initrode/).check();
    await submitForm(page, () => page.getByRole('button', { name: 'Move' }).click());
    assert.deepEqual(await send('2'), ['test-drop'], 'testing: the test drop only');
    await page.reload();
    await page.getByLabel(/Approved by/).fill('Pia Partner-Manager');
    await submitForm(page, () => page.getByRole('button', { name: 'Record the approval' }).click());
    await page.getByLabel(/I confirm: initrode goes live/).check();
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Go live' }).click())).status(), 303);
    assert.match((await page.locator('#state').textContent()) ?? '', /^live/);
    assert.deepEqual(await send('3'), ['erp'], 'live: production only');
    const created = await s.db.knex('audit_log').where({ actor: 'portal:pia', action: 'partner.create' }).count<{ count: string }[]>('* as count');
    assert.equal(Number(created[0]?.count), 1);
  });

  it('refuses a new partner with a taken or unsafe id, or without the form token, and writes nothing', async () => {
    const pia = new PortalClient(() => s.url);
    await pia.signIn('pia', PASSWORD);
    const csrf = await pia.formToken('/portal/partners/new');
    const before = readFileSync(path.join(s.t.partnersDir, 'nova-parts.yaml'), 'utf8');
    const fields = { csrf, name: 'X', template: 'rest-csv-asn', erpUrl: s.erp.url };
    const taken = await pia.request('/portal/partners/new', { form: { ...fields, id: 'nova-parts' } });
    assert.equal(taken.status, 400);
    assert.match(taken.text, /A partner nova-parts exists already/);
    assert.equal(readFileSync(path.join(s.t.partnersDir, 'nova-parts.yaml'), 'utf8'), before, 'the existing profile is untouched');
    for (const id of ['../evil', 'A', '']) assert.equal((await pia.request('/portal/partners/new', { form: { ...fields, id } })).status, 400, id);
    assert.equal((await pia.request('/portal/partners/new', { form: { ...fields, csrf: 'x'.repeat(43), id: 'forged' } })).status, 403);
    assert.equal(existsSync(path.join(s.t.partnersDir, 'forged.yaml')), false);
  });

  it('refuses the partner pages to an operations user', async () => {
    const olga = new PortalClient(() => s.url);
    await olga.signIn('olga', PASSWORD);
    for (const p of ['/portal/partners', '/portal/partners/nova-parts', '/portal/partners/new']) {
      const r = await olga.request(p);
      assert.equal(r.status, 403, p);
      assert.match(r.text, /GW_PORTAL_ROLE/);
    }
  });
});
