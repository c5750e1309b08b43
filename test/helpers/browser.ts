import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page, type Response } from 'playwright-core';
import { REPO } from './corpus.js';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH points elsewhere on other systems. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** One screenshot per journey, for a person to look at; git-ignored. */
export const SCREENSHOTS = path.join(REPO, 'test', 'screenshots');

export interface BrowserSuite {
  browser: Browser;
  /** A fresh context (cookies, storage) for each test. */
  context: BrowserContext;
  page: Page;
  /** Saves the whole page (or, with `fullPage: false`, what the window shows) as test/screenshots/<name>.png; returns the path. */
  screenshot(name: string, o?: { fullPage?: boolean }): Promise<string>;
}

/**
 * Headless Chromium for a mocha suite (decision 0026): one browser for the suite, a new context per
 * test, everything closed after. Without Chromium the suite is skipped with a message saying how to
 * install it, except under CI=true (.ci/run), where a missing browser is a failure.
 */
export function browserSuite(contextOptions: () => BrowserContextOptions = () => ({})): BrowserSuite {
  const s = {} as BrowserSuite;
  const saved: string[] = [];
  s.screenshot = async (name, o = {}) => {
    await mkdir(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await s.page.screenshot({ path: file, fullPage: o.fullPage ?? true });
    saved.push(file);
    return file;
  };
  before(async function () {
    if (!existsSync(CHROMIUM)) {
      const how = `no Chromium at ${CHROMIUM}: install it with "sudo apt-get install chromium" (Debian/Ubuntu) or set CHROMIUM_PATH`;
      if (process.env.CI === 'true') throw new Error(`browser tests must run under CI: ${how}`);
      console.log(`      browser tests skipped, ${how}`);
      this.skip();
    }
    s.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
  });
  beforeEach(async () => {
    s.context = await s.browser.newContext(contextOptions());
    s.page = await s.context.newPage();
  });
  afterEach(async () => {
    await s.context?.close();
  });
  after(async () => {
    await s.browser?.close();
    if (saved.length) console.log(`      screenshots: ${saved.map((f) => path.relative(REPO, f)).join(', ')}`);
  });
  return s;
}

/**
 * Does `act` (a click, a key press) that submits a form, and waits for the server's answer to the
 * POST and for the page it leads to to have loaded. Returns the status of the answer to the POST.
 */
export async function submitForm(page: Page, act: () => Promise<void>): Promise<Response> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest());
  const loaded = page.waitForEvent('load');
  await act();
  const [response] = await Promise.all([answered, loaded]);
  return response;
}

/** Signs in through the sign-in form, as a person would, and waits for the portal's home. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/portal/sign-in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await submitForm(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  await page.waitForURL('**/portal/');
}
