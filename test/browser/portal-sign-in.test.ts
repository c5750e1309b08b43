import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { browserSuite, submitForm } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { gatewaySuite } from '../helpers/gateway.js';

const JANE_PASSWORD = 'jane likes long passwords';
const LENA_PASSWORD = 'lena knows her password';

/** The definition shown next to a term on the home page (<dt>term</dt><dd>value</dd>). */
const detail = (page: Page, term: string) => page.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');

/** What a forger's copy of the form lacks. (Page scripts are strings: the tests compile without the DOM's types.) */
async function removeFormToken(page: Page): Promise<void> {
  await page.evaluate(`document.querySelector('input[name="csrf"]').remove()`);
}

async function fillSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
}

describe('portal sign-in in a real browser (headless Chromium, real server, real CLI)', function () {
  // CLI commands are node processes compiling TypeScript: seconds each on a loaded machine.
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url }));
  const cli = (args: string[], input = '') =>
    runCli(['users', ...args], {
      env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
      input,
    });

  before(async () => {
    const added = await Promise.all([
      cli(['add', 'jane', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Jane Roe'], JANE_PASSWORD),
      cli(['add', 'lena', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Lena Locked'], LENA_PASSWORD),
    ]);
    for (const r of added) assert.equal(r.status, 0, r.stderr);
  });

  it('a supplier signs in through the form, sees its name, role and partner, and signs out', async () => {
    const { page } = b;
    await page.goto('/');
    await page.waitForURL('**/portal/sign-in');
    await fillSignIn(page, 'jane', JANE_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/portal/');
    await page.getByText('Signed in as Jane Roe.').waitFor();
    assert.equal(await detail(page, 'Username').textContent(), 'jane');
    assert.equal(await detail(page, 'Role').textContent(), 'supplier');
    assert.equal(await detail(page, 'Partner').textContent(), 'ACME (test) (acme-supply)');
    await b.screenshot('portal-signed-in');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/portal/sign-in');
    assert.deepEqual(
      (await b.context.cookies()).filter((c) => c.name === 'gw_session'),
      [],
    );
    await page.goto('/portal/');
    await page.waitForURL('**/portal/sign-in');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('wrong passwords lock the username: the page says so with the time to wait, and the right password is refused while locked', async () => {
    const { page } = b;
    await page.goto('/portal/sign-in');
    for (let attempt = 1; attempt <= 5; attempt++) {
      await fillSignIn(page, 'lena', `wrong password ${attempt}`);
      const answer = await submitForm(page, () => page.getByRole('button', { name: 'Sign in' }).click());
      assert.equal(answer.status(), 401, `attempt ${attempt}`);
      assert.equal(await page.getByRole('alert').textContent(), 'The username or password is wrong.');
    }
    await fillSignIn(page, 'lena', 'wrong password 6');
    const locked = await submitForm(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    assert.equal(locked.status(), 429);
    const message = 'Too many failed sign-ins for this username or from this address. Try again in 15 minute(s).';
    assert.equal(await page.getByRole('alert').textContent(), message);
    assert.equal(await page.getByLabel('Username').inputValue(), 'lena', 'the form keeps the username');
    await b.screenshot('portal-sign-in-locked');
    await fillSignIn(page, 'lena', LENA_PASSWORD);
    const refused = await submitForm(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    assert.equal(refused.status(), 429);
    assert.equal(page.url(), `${suite.url}/portal/sign-in`);
    assert.equal(await page.getByRole('alert').textContent(), message);
    assert.ok(!(await b.context.cookies()).some((c) => c.name === 'gw_session'), 'no session while locked');
  });

  it('refuses a sign-in form posted without its token with the portal error page, and a sign-out without one', async () => {
    const { page } = b;
    await page.goto('/portal/sign-in');
    await fillSignIn(page, 'jane', JANE_PASSWORD);
    await removeFormToken(page);
    const refused = await submitForm(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    assert.equal(refused.status(), 403);
    await page.getByRole('heading', { name: 'The request was refused' }).waitFor();
    assert.equal(await page.locator('code').textContent(), 'GW_PORTAL_CSRF');
    assert.ok(!(await b.context.cookies()).some((c) => c.name === 'gw_session'));
    await b.screenshot('portal-csrf-refused');

    await page.goto('/portal/sign-in');
    await fillSignIn(page, 'jane', JANE_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/portal/');
    await removeFormToken(page);
    const signOut = await submitForm(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    assert.equal(signOut.status(), 403);
    assert.equal(await page.locator('code').textContent(), 'GW_PORTAL_CSRF');
    await page.getByRole('link', { name: 'Back to the portal' }).click();
    await page.waitForURL('**/portal/');
    await page.getByText('Signed in as Jane Roe.').waitFor(); // the refused sign-out changed nothing
  });

  describe('a sign-in form on another site', () => {
    let other: Server;
    let otherUrl = '';
    before(async () => {
      // The other site is served from "localhost", the gateway from 127.0.0.1: two sites to the browser.
      other = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end(`<!doctype html><title>Elsewhere</title><form method="post" action="${suite.url}/portal/sign-in">
<input name="username" value="jane"><input name="password" value="${JANE_PASSWORD}"><button>Go</button></form>`);
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      otherUrl = `http://localhost:${(other.address() as AddressInfo).port}/`;
    });
    after(() => new Promise<void>((resolve) => other.close(() => resolve())));

    it('is refused with the portal error page and signs nobody in (login CSRF)', async () => {
      const { page } = b;
      await page.goto('/portal/sign-in'); // the browser holds the gateway's sign-in cookie already
      await page.goto(otherUrl);
      const refused = await submitForm(page, () => page.getByRole('button', { name: 'Go' }).click());
      assert.equal(refused.status(), 403);
      assert.equal(await page.locator('code').textContent(), 'GW_PORTAL_CSRF');
      assert.ok(!(await b.context.cookies()).some((c) => c.name === 'gw_session'));
    });
  });
});

describe('portal sign-in with the keyboard only, at phone width (headless Chromium)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true }));
  const focusedId = (page: Page) => page.evaluate<string>('document.activeElement.id || document.activeElement.textContent');

  before(async () => {
    const r = await runCli(['users', 'add', 'kim', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Kim Keys'], {
      env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
      input: 'kim types without a mouse',
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('has labelled inputs, fits 375 px without sideways scrolling, and signs in and out with Tab and Enter', async () => {
    const { page } = b;
    await page.goto('/portal/sign-in');
    assert.equal(await page.getByLabel('Username').getAttribute('name'), 'username');
    assert.equal(await page.getByLabel('Password').getAttribute('type'), 'password');
    assert.equal(await page.evaluate<number>('document.documentElement.scrollWidth'), 375, 'nothing wider than the phone');
    for (const field of [page.getByLabel('Username'), page.getByLabel('Password'), page.getByRole('button', { name: 'Sign in' })]) {
      const box = await field.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${JSON.stringify(box)} inside the 375 px width`);
    }
    await b.screenshot('portal-sign-in-375px');

    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'username', 'Tab reaches the username first');
    await page.keyboard.type('kim');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'password');
    await page.keyboard.type('kim types without a mouse');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/portal/');
    await page.getByText('Signed in as Kim Keys.').waitFor();
    assert.equal(await page.evaluate<number>('document.documentElement.scrollWidth'), 375);
    await b.screenshot('portal-home-375px');

    for (const link of ['Submissions', 'Upload a file', 'Mailbox']) {
      await page.keyboard.press('Tab');
      assert.equal(await focusedId(page), link, "a supplier's home links its pages, in order");
    }
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'Sign out', 'the sign-out button is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/portal/sign-in');
  });
});
