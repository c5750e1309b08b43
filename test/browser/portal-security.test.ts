import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { addUser } from '../../src/security/users.js';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post } from '../helpers/gateway.js';

const SAM_PASSWORD = 'sam keeps the keys safe';
const PAM_PASSWORD = 'pam manages partners';
const ASN = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');

/** The definition beside a term (<dt>term</dt><dd>value</dd>). */
const detail = (page: Page, term: string) => page.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');

describe('security pages in a real browser (headless Chromium, real server)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));
  let sent = 0;
  /** The REST door's answer to a fresh Northwind ship notice sent with `key`: 202 accepted, 401 refused. */
  const restStatus = async (key: string) => {
    sent += 1;
    return (await post(suite.url, key, 'application/json', ASN.replace('NW-SH-10045', `NW-SH-JOURNEY-${sent}`))).status;
  };

  before(async () => {
    const now = new Date();
    await addUser(suite.db.knex, { username: 'sam', displayName: 'Sam Security', role: 'security', partnerId: null }, SAM_PASSWORD, now);
    await addUser(suite.db.knex, { username: 'pam', displayName: 'Pam Manager', role: 'partner-manager', partnerId: null }, PAM_PASSWORD, now);
  });

  it("a security user rotates Northwind's API key, revokes the old one, and finds both steps in the audit log", async () => {
    const { page } = b;
    await signIn(page, 'sam', SAM_PASSWORD);
    await page.getByRole('link', { name: 'Security' }).click();
    await page.waitForURL('**/portal/security/credentials');
    await page.getByLabel('Partner').selectOption('northwind');
    await page.getByLabel('Kind').selectOption('api-key');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/partner=northwind/);
    await b.screenshot('portal-security-credentials');

    await page.getByRole('link', { name: 'nwdemo' }).click();
    await page.waitForURL('**/portal/security/credentials/api-key/nwdemo');
    const rotate = page.getByRole('form', { name: 'Rotate' });
    await rotate.getByLabel(/Overlap in seconds/).fill('3600');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    assert.ok(page.url().endsWith('/api-key/nwdemo'), 'the required confirmation holds the form back');
    await rotate.getByLabel(/I confirm: rotate the api-key credentials of partner northwind/).check();
    const answer = await submitForm(page, () => rotate.getByRole('button', { name: 'Rotate' }).click());
    assert.equal(answer.status(), 201);
    assert.equal(answer.headers()['cache-control'], 'no-store');
    const secret = (await page.locator('#secret').textContent()) ?? '';
    assert.match(secret, /^gw_[a-z0-9]+_/);
    await b.screenshot('portal-security-rotated');
    assert.deepEqual([await restStatus(NORTHWIND_KEY), await restStatus(secret)], [202, 202], 'inside the overlap both keys work');

    await page.getByRole('listitem').getByRole('link', { name: 'nwdemo' }).click();
    await page.waitForURL('**/portal/security/credentials/api-key/nwdemo');
    assert.match((await detail(page, 'Last used').textContent()) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d/, 'the request just made is its last use');
    const revoke = page.getByRole('form', { name: 'Revoke' });
    await revoke.getByLabel(/I confirm: revoke api-key nwdemo now/).check();
    const revoked = await submitForm(page, () => revoke.getByRole('button', { name: 'Revoke' }).click());
    assert.equal(revoked.status(), 303);
    await page.getByRole('status').getByText('Revoked api-key nwdemo.').waitFor();
    assert.equal(await detail(page, 'State').textContent(), 'revoked');
    assert.deepEqual([await restStatus(NORTHWIND_KEY), await restStatus(secret)], [401, 202], 'the old key stops at once, the new one works');
    assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL('**/portal/security/audit');
    await page.getByLabel(/Actor/).fill('portal:sam');
    await page.getByLabel(/Action/).fill('credential.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/actor=portal%3Asam/);
    const rows = await page
      .getByRole('table', { name: 'Audit log' })
      .getByRole('row', { name: /portal:sam/ })
      .allTextContents();
    assert.equal(rows.length, 2, rows.join(' | '));
    assert.match(rows[0] ?? '', /credential\.revoke.*api-key:nwdemo/s);
    assert.match(rows[1] ?? '', /credential\.rotate.*api-key:/s);
    assert.ok(!(await page.content()).includes(secret), 'the secret is not in the audit');
    await b.screenshot('portal-security-audit');
  });

  it('a partner manager cannot open the security pages', async () => {
    const { page } = b;
    await signIn(page, 'pam', PAM_PASSWORD);
    assert.equal(await page.getByRole('link', { name: 'Security' }).count(), 0, 'no link on the home page');
    for (const p of ['/portal/security/credentials', '/portal/security/audit', '/portal/security/expiring']) {
      const r = await page.goto(p);
      assert.equal(r?.status(), 403, p);
      await page.getByText('GW_PORTAL_ROLE').waitFor();
    }
    await b.screenshot('portal-security-refused');
  });
});
