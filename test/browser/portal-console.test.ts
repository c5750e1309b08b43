import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, status, waitFor } from '../helpers/gateway.js';

const OTTO_PASSWORD = 'otto operates the gateway';
const SUE_PASSWORD = 'sue sends ship notices';
const ASN = readFileSync(path.join(REPO, 'mappings', 'northwind', 'samples', 'asn.json'), 'utf8');

/** The definition beside a term (<dt>term</dt><dd>value</dd>). */
const detail = (page: Page, term: string) => page.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');

describe('operations console in a real browser (headless Chromium, real server, real CLI)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  /**
   * A Northwind ship notice for `po`, sent over REST while the ERP answers `answer`: 503 (down), its
   * ERP delivery goes dead after its 4 attempts; 400 (refused), at once.
   */
  async function deadAsn(po: string, shipment: string, answer: 503 | 400 = 503): Promise<string> {
    suite.erp.respond = () => answer;
    const r = await post(suite.url, NORTHWIND_KEY, 'application/json', ASN.replace('PO-44120', po).replace('NW-SH-10045', shipment));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.messageId as string;
    await waitFor(
      'dead letter',
      () => status(suite.url, NORTHWIND_KEY, id),
      (m) => m.body.state === 'dead',
      30_000,
    );
    return id;
  }

  before(async () => {
    const env = { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir };
    const added = await Promise.all([
      runCli(['users', 'add', 'otto', '--role', 'operations', '--name', 'Otto Operator'], { env, input: OTTO_PASSWORD }),
      runCli(['users', 'add', 'sue', '--role', 'supplier', '--partner', 'northwind', '--name', 'Sue Supplier'], { env, input: SUE_PASSWORD }),
    ]);
    for (const r of added) assert.equal(r.status, 0, r.stderr);
  });

  it('an operator finds a dead ship notice by its PO number, sees the failed attempts, and redelivers it once the ERP is back', async () => {
    const id = await deadAsn('PO-CONSOLE-77', 'NW-SH-CONSOLE-1');
    const { page } = b;
    await signIn(page, 'otto', OTTO_PASSWORD);
    await page.getByRole('link', { name: 'Operations console' }).click();
    await page.waitForURL('**/portal/console/messages');
    await page.getByLabel('PO number', { exact: true }).fill('PO-CONSOLE-77');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/poNumber=PO-CONSOLE-77/);
    const rows = page.getByRole('row', { name: /northwind/ });
    assert.equal(await rows.count(), 1, 'the one message naming the PO');
    assert.match((await rows.first().textContent()) ?? '', /dead/);
    await b.screenshot('portal-console-search');

    await page.getByRole('link', { name: id.slice(0, 8) }).click();
    await page.waitForURL(`**/portal/console/messages/${id}`);
    assert.equal(await detail(page, 'State').textContent(), 'dead');
    const deliveries = page.getByRole('table', { name: /one delivery of one document/ });
    const httpDelivery = deliveries.getByRole('row', { name: /erp-http/ });
    assert.match((await httpDelivery.first().textContent()) ?? '', /4 of 4.*GW_DELIVERY_HTTP.*503/s, 'attempts and the last answer');
    const failed = await page.getByRole('row', { name: /delivery\.failed/ }).allTextContents();
    assert.equal(failed.length, 3, `each failed attempt on the timeline: ${failed.join(' | ')}`);
    for (const row of failed) assert.match(row, /503/, 'with the answer it got');
    assert.equal(await page.getByRole('row', { name: /delivery\.dead/ }).count(), 1);
    assert.ok((await page.locator('pre').first().textContent())?.includes('"PO-CONSOLE-77"'), 'the canonical document, indented');
    await b.screenshot('portal-console-message-dead');
    await b.screenshot('portal-console-message-dead-top', { fullPage: false });

    suite.erp.respond = () => 202;
    const redeliver = page.getByRole('form', { name: 'Redeliver' });
    await redeliver.getByRole('button', { name: 'Redeliver' }).click();
    assert.equal(page.url().endsWith(`/portal/console/messages/${id}`), true, 'the required confirmation holds the form back');
    await redeliver.getByLabel(/I confirm: redeliver/).check();
    const answer = await submitForm(page, () => redeliver.getByRole('button', { name: 'Redeliver' }).click());
    assert.equal(answer.status(), 303);
    await page.getByRole('status').getByText('Redelivered: 1 document deliveries queued again.').waitFor();
    await waitFor(
      'the page to show it delivered',
      async () => {
        await page.reload();
        return detail(page, 'State').textContent();
      },
      (s) => s === 'delivered',
      20_000,
    );
    assert.match((await deliveries.getByRole('row', { name: /:redelivery-1/ }).textContent()) ?? '', /delivered/, 'the new delivery, delivered');
    assert.match((await httpDelivery.first().textContent()) ?? '', /dead/, 'the dead one keeps its story');
    await b.screenshot('portal-console-message-redelivered');
    await page.goto('/portal/console/messages?poNumber=PO-CONSOLE-77');
    assert.match(
      (await page.getByRole('row', { name: /northwind/ }).textContent()) ?? '',
      /delivered.*2 delivered/s,
      'the search counts current deliveries only',
    );
    const audited = await suite.db.knex('audit_log').where({ action: 'message.redeliver', target: `message:${id}` });
    assert.deepEqual(
      audited.map((a) => [a.actor, a.outcome]),
      [['portal:otto', 'ok']],
    );
  });

  it('an operator redelivers every dead message of a partner in bulk, after confirming how many match', async () => {
    // Refused rather than down: the 503s of the journey above would open the target's breaker and hold these back.
    const ids = [await deadAsn('PO-CONSOLE-80', 'NW-SH-CONSOLE-2', 400), await deadAsn('PO-CONSOLE-81', 'NW-SH-CONSOLE-3', 400)];
    suite.erp.respond = () => 202;
    const { page } = b;
    await signIn(page, 'otto', OTTO_PASSWORD);
    await page.goto('/portal/console/messages?partner=northwind&state=dead');
    await page.getByLabel('Action').selectOption('redeliver');
    await submitForm(page, () => page.getByRole('button', { name: 'Review the bulk action' }).click());
    await page.getByRole('heading', { name: 'Redeliver 2 messages?' }).waitFor();
    await page.getByLabel(/I confirm: redeliver these 2 messages/).check();
    const answer = await submitForm(page, () => page.getByRole('button', { name: 'Redeliver them' }).click());
    assert.equal(answer.status(), 200);
    const outcomes = await page.getByRole('row', { name: /redeliver/ }).allTextContents();
    assert.equal(outcomes.length, 2, outcomes.join(' | '));
    for (const id of ids)
      await waitFor(
        'delivered',
        () => status(suite.url, NORTHWIND_KEY, id),
        (m) => m.body.state === 'delivered',
      );
    const audited = await suite.db.knex('audit_log').where('actor', 'portal:otto').andWhere('action', 'like', 'message.redeliver%');
    assert.equal(audited.filter((a) => a.action === 'message.redeliver.bulk').length, 1);
    for (const id of ids) assert.ok(audited.some((a) => a.target === `message:${id}` && a.outcome === 'ok' && a.details.bulk));
  });

  it('a supplier typing a console URL gets the role refusal', async () => {
    const { page } = b;
    await signIn(page, 'sue', SUE_PASSWORD);
    assert.equal(await page.getByRole('link', { name: 'Operations console' }).count(), 0);
    const res = await page.goto('/portal/console/messages?poNumber=PO-CONSOLE-77');
    assert.equal(res?.status(), 403);
    await page.getByText('GW_PORTAL_ROLE').waitFor();
    assert.equal(await page.getByText('PO-CONSOLE-77').count(), 0);
  });
});
