import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addUser } from '../../src/security/users.js';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { gatewaySuite, mappingsCopy } from '../helpers/gateway.js';

const PASSWORD = 'pia manages partner maps';
const GOOD_LINE = 'reportDate: { from: Stand, transform: { date: DD.MM.CCYY }, required: true }';

describe('mapping workbench in a real browser (headless Chromium, real server, CodeMirror served by the gateway)', function () {
  this.timeout(180_000);
  const mappings = mappingsCopy();
  const suite = gatewaySuite({ env: { MAPPINGS_DIR: mappings } });
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1400, height: 1000 } }));
  const file = () => path.join(mappings, 'hansen-textil', 'stock-csv.yaml');

  before(async () => {
    // The editor bundle, as `npm install` / `npm run build` makes it.
    const { buildAssets } = (await import(path.join('..', '..', 'scripts', 'build-assets.mjs') as string)) as { buildAssets: () => Promise<void> };
    await buildAssets();
    // The copy's stock profile reads the report date from a column the samples do not have.
    const text = await readFile(file(), 'utf8');
    assert.ok(text.includes(GOOD_LINE));
    await writeFile(file(), text.replace(GOOD_LINE, GOOD_LINE.replace('from: Stand', 'from: Stnd')));
    await suite.t.gw.reload();
    await addUser(suite.db.knex, { username: 'pia', displayName: 'Pia', role: 'partner-manager', partnerId: null }, PASSWORD, new Date());
  });

  it('a partner manager sees a sample fail, fixes the profile in the editor by keyboard, sees the diff and saves the next version', async () => {
    const { page } = b;
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? scriptErrors.push(m.text()) : undefined));
    await signIn(page, 'pia', PASSWORD);
    await page.getByRole('link', { name: 'Mapping profiles' }).click();
    await page.getByRole('link', { name: 'hansen-textil/stock-csv' }).click();
    await page.waitForURL('**/portal/mappings/hansen-textil/stock-csv');

    // The textarea is enhanced: CodeMirror, labelled by the field's label, the textarea hidden.
    const editor = page.getByRole('textbox', { name: 'Profile YAML' });
    await editor.waitFor();
    assert.equal(await editor.getAttribute('contenteditable'), 'true');
    assert.equal(await page.locator('textarea#profile-text').isHidden(), true);

    await page.getByLabel("One of the profile's samples").selectOption({ label: 'bestand-2026-11-20.csv' });
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Try the sample' }).click())).status(), 200);
    const errors = page.locator('section', { has: page.getByRole('heading', { name: /on bestand-2026-11-20.csv/ }) }).locator('table', { hasText: 'Errors' });
    await errors
      .getByText(/reportDate/)
      .first()
      .waitFor();

    // Completion offers what the schema allows where the cursor is (under source:), then the line goes again.
    const before = await page.locator('textarea#profile-text').inputValue();
    await page.locator('.cm-line', { hasText: 'decimal: ","' }).click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('deli');
    await page.locator('.cm-tooltip-autocomplete').getByText('delimiter', { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Home');
    for (let i = 0; i < 3; i++) await page.keyboard.press('Backspace');
    assert.equal(await page.locator('textarea#profile-text').inputValue(), before, 'the form field follows the editor');

    // Fix the line by keyboard: to its start, select it, type the right one.
    await page.locator('.cm-line', { hasText: 'from: Stnd' }).click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await page.keyboard.type(GOOD_LINE);
    await page.keyboard.press('Escape'); // closes a completion list, if one is open

    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Show what changes' }).click())).status(), 200);
    const diff = page.locator('section', { has: page.getByRole('heading', { name: /What changes/ }) });
    await diff.locator('strong', { hasText: 'bestand-2026-11-20.csv' }).waitFor();
    assert.match((await diff.textContent()) ?? '', /bestand-2026-11-20\.csv: \d+ change\(s\)[\s\S]*reportDate/);
    await b.screenshot('portal-workbench-diff');

    await page.getByLabel(/I have looked at what changes; save as version 2/).check();
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Save version 2' }).click())).status(), 303);
    await page.getByText('Saved as version 2').waitFor();
    await b.screenshot('portal-workbench-saved');

    const onDisk = await readFile(file(), 'utf8');
    assert.ok(onDisk.includes(GOOD_LINE), onDisk);
    assert.match(onDisk, /^version: 2$/m);
    assert.equal(suite.t.gw.config().mappings.get('hansen-textil/stock-csv')?.version, 2);
    assert.deepEqual(scriptErrors, []);
  });
});
