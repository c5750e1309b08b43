import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { addUserByCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { gatewaySuite } from '../helpers/gateway.js';

const PASSWORD = 'sue sends ship notices';
/** ACME's ship notice with a date that does not exist (DTM02 = 2026-13-40). */
const BAD_ASN = readFileSync(path.join(REPO, 'mappings', 'acme-supply', 'samples', '856-004010-cases-xref.edi'), 'utf8').replace(
  'DTM*011*20261120~',
  'DTM*011*20261340~',
);

describe('portal supplier upload in a real browser (headless Chromium, real server, real CLI)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  before(() => addUserByCli(suite, ['sue', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Sue Supplier'], PASSWORD));

  it('a supplier uploads a bad X12 file and sees the error beside its segment on the submission page', async () => {
    const { page } = b;
    await signIn(page, 'sue', PASSWORD);
    await page.getByRole('link', { name: 'Upload a file' }).first().click();
    await page.waitForURL('**/portal/upload');
    await page.getByLabel('Format').selectOption({ label: 'X12' });
    await page.getByLabel('File content').fill(BAD_ASN);
    const answer = await submitForm(page, () => page.getByRole('button', { name: 'Send' }).click());
    assert.equal(answer.status(), 303);
    await page.waitForURL(/\/portal\/submissions\/[0-9a-f-]{36}$/);
    // The page reloads itself until the gateway has read the file.
    const row = page.getByRole('row', { name: /DTM/ }).first();
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.getByRole('cell').allTextContents();
    assert.match(cells[0] ?? '', /^GW_/, `a code first: ${cells.join(' | ')}`);
    assert.match(cells[1] ?? '', /segment DTM \(segment \d+ of its transaction set\)/, cells.join(' | '));
    assert.match(cells[1] ?? '', /element 2 \(DTM02\), line 9$/, cells.join(' | '));
    assert.match(cells[2] ?? '', /"20261340" is not a calendar date/);
    await b.screenshot('portal-supplier-bad-x12');
    await page.setViewportSize({ width: 375, height: 667 });
    assert.equal(await page.evaluate<number>('document.documentElement.scrollWidth'), 375, 'the page fits a phone; wide tables scroll inside');
    await b.screenshot('portal-supplier-bad-x12-375px');
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('link', { name: 'Submissions' }).click();
    await page.waitForURL('**/portal/submissions');
    assert.equal(await page.getByRole('row').count(), 2, 'a header and the one upload');
    assert.equal(await page.getByRole('cell', { name: 'portal', exact: true }).count(), 1);
  });
});
