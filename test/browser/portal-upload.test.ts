import assert from 'node:assert/strict';
import path from 'node:path';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { addUserByCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { gatewaySuite } from '../helpers/gateway.js';

const PASSWORD = 'sue chooses her files';
const GOOD_ASN = path.join(REPO, 'mappings', 'acme-supply', 'samples', '856-004010-cases-xref.edi');

describe('portal file upload in a real browser (headless Chromium, real server, real CLI)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  before(() => addUserByCli(suite, ['sue', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Sue Supplier'], PASSWORD));

  it('a supplier chooses a good X12 ship notice with the file input and sees it accepted, under its file name', async () => {
    const { page } = b;
    await signIn(page, 'sue', PASSWORD);
    await page.getByRole('link', { name: 'Upload a file' }).first().click();
    await page.waitForURL('**/portal/upload');
    await page.getByLabel('Format').selectOption({ label: 'X12' });
    await page.getByLabel('File', { exact: true }).setInputFiles(GOOD_ASN);
    const answer = await submitForm(page, () => page.getByRole('button', { name: 'Send' }).click());
    assert.equal(answer.status(), 303);
    assert.match(answer.request().headers()['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    await page.waitForURL(/\/portal\/submissions\/[0-9a-f-]{36}$/);
    // The page reloads itself until the gateway has read the file.
    const state = page.locator('dt:text-is("State") + dd');
    await state.filter({ hasNotText: /^received$/ }).waitFor({ timeout: 20_000 });
    // Accepted: routed to the ERP (or already delivered there), not rejected.
    assert.match((await state.textContent()) ?? '', /^(routed|delivered)$/);
    const documents = await page.locator('h3 + p strong').allTextContents();
    assert.ok(documents.length > 0 && documents.every((d) => d === 'accepted'), `every document accepted: ${documents.join(', ')}`);
    assert.match((await page.locator('dt:text-is("Acknowledgment") + dd').textContent()) ?? '', /^997 /, 'a functional acknowledgment made');
    await page.getByRole('cell', { name: /over portal \(application\/edi-x12\) as 856-004010-cases-xref\.edi/ }).waitFor();
    await b.screenshot('portal-upload-good-x12');
  });
});
