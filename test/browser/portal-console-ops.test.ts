import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { addUser } from '../../src/security/users.js';
import { browserSuite, signIn } from '../helpers/browser.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';

const PASSWORD = 'olga watches the queues';
const INVOICE = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8');

describe('operations console charts and dead letters in a real browser (headless Chromium, real server)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  before(async () => {
    await addUser(suite.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, new Date());
    suite.erp.respond = (req) => (req.raw.toString().includes('REFUSE') ? 400 : 202);
    for (const n of ['NW-INV-B-1', 'NW-INV-REFUSE-B']) {
      const r = await post(suite.url, NORTHWIND_KEY, 'application/json', INVOICE.replace('NW-INV-2231', n));
      assert.equal(r.status, 202);
      await waitFor('a final state', () => status(suite.url, NORTHWIND_KEY, r.body.messageId), terminal);
    }
  });

  it('an operations user opens the charts, each with its table, then the dead letters and their bulk form', async () => {
    const { page } = b;
    await signIn(page, 'olga', PASSWORD);
    await page.goto('/portal/console/charts');
    const charts = page.getByRole('img');
    assert.equal(await charts.count(), 5);
    for (let i = 0; i < 5; i++) {
      const figure = page.locator('figure').nth(i);
      assert.ok((await figure.getByRole('img').getAttribute('aria-labelledby'))?.includes('-title'));
      await figure.locator('summary').click();
      assert.ok(await figure.getByRole('table').isVisible(), `chart ${i} has its table`);
    }
    assert.ok(await page.getByRole('img', { name: 'Messages received per hour' }).isVisible());
    assert.ok(await page.getByRole('row', { name: /northwind 2 0 1/ }).isVisible());
    await b.screenshot('portal-console-charts');

    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.waitForURL('**/portal/console/dead-letters');
    await page.getByLabel('Partner').fill('northwind');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL('**/portal/console/dead-letters?partner=northwind&target=');
    await page.getByRole('cell', { name: /Refused for good/ }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('row').count(), 2, 'a header and the refused invoice');
    assert.ok(await page.getByRole('cell', { name: /Refused for good/ }).isVisible());
    const bulk = page.locator('form[action="/portal/console/bulk"]');
    assert.equal(await bulk.locator('input[name="partner"]').inputValue(), 'northwind');
    assert.equal(await bulk.locator('input[name="state"]').inputValue(), 'dead');
    assert.ok((await bulk.locator('input[name="csrf"]').inputValue()).length > 10);
    await bulk.getByLabel('Action').selectOption('replay');
    await b.screenshot('portal-console-dead-letters');
  });
});
