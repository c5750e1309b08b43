import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type MutableToken, OAuth2Server } from 'oauth2-mock-server';
import type { Page } from 'playwright-core';
import { freePort } from '../../src/store/embedded.js';
import { browserSuite, signIn } from '../helpers/browser.js';
import { addUserByCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { ERP, gatewaySuite, NORTHWIND_KEY, post, waitFor } from '../helpers/gateway.js';

const PASSWORD = 'suppliers use long passwords';
const NORTHWIND_ASN = readFileSync(path.join(REPO, 'mappings', 'northwind', 'samples', 'asn.json'), 'utf8');
const ORDER = {
  purchaseOrderNumber: 'PO-20261205-01',
  orderDate: '2026-12-05',
  currency: 'USD',
  shipTo: { name: 'Distributor DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
  lines: [{ lineNumber: '1', vendorSku: '87787D', quantity: 24, unit: 'each', unitPrice: 1.25 }],
};

/** A page's status and its main content, as the person sees it (the same layout around every page). */
async function visit(page: Page, url: string): Promise<{ status: number | undefined; main: string }> {
  const response = await page.goto(url);
  return { status: response?.status(), main: await page.locator('main').innerHTML() };
}

describe("portal journeys: another partner's URLs (headless Chromium, real server)", function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  before(() => addUserByCli(suite, ['sue', '--role', 'supplier', '--partner', 'acme-supply'], PASSWORD));

  it("a supplier typing another partner's submission and mailbox URLs sees exactly the page of a missing id", async () => {
    const sent = await post(suite.url, NORTHWIND_KEY, 'application/json', NORTHWIND_ASN);
    assert.equal(sent.status, 202);
    const ordered = await fetch(`${suite.url}/v1/erp/partners/northwind/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(ORDER),
    });
    assert.equal(ordered.status, 201, await ordered.text());
    const item = await waitFor(
      "northwind's purchase order in its mailbox",
      () => suite.db.knex('messages').where({ partner_id: 'northwind', direction: 'outbound', doc_type: 'purchase-order' }).first('id'),
      (row) => row !== undefined,
      20_000,
    );

    const { page } = b;
    await signIn(page, 'sue', PASSWORD);

    for (const [where, foreignId] of [
      ['/portal/submissions/', sent.body.messageId as string],
      ['/portal/mailbox/', item.id as string],
    ] as const) {
      const foreign = await visit(page, where + foreignId);
      const missing = await visit(page, where + randomUUID());
      assert.equal(foreign.status, 404, where);
      assert.equal(foreign.main, missing.main, `${where}: another partner's id and a missing one give the same main content`);
      assert.ok(!foreign.main.includes(foreignId), 'the id is not repeated');
      assert.match(foreign.main, /GW_NOT_FOUND/);
    }
    await b.screenshot('portal-journey-foreign-mailbox-item');
  });
});

describe('portal journey: staff sign-in by OpenID Connect (headless Chromium, a real OIDC provider on loopback)', function () {
  this.timeout(180_000);
  const provider = new OAuth2Server();
  const secretDir = mkdtempSync(path.join(tmpdir(), 'gw-oidc-'));
  const env: Record<string, string> = {};

  before(async () => {
    await provider.issuer.keys.generate('RS256');
    await provider.start(0, '127.0.0.1');
    // The person the provider signs in: a staff member whose group maps to operations.
    provider.service.on('beforeTokenSigning', (token: MutableToken) =>
      Object.assign(token.payload, { sub: 'u-2001', preferred_username: 'Olga', name: 'Olga Ops', groups: ['staff', 'gw-ops'] }),
    );
    writeFileSync(path.join(secretDir, 'secret'), 'portal-client-secret\n');
    const port = await freePort();
    Object.assign(env, {
      PORT: String(port),
      PORTAL_OIDC_ISSUER: provider.issuer.url as string,
      PORTAL_OIDC_NAME: 'Example SSO',
      PORTAL_OIDC_CLIENT_ID: 'gwportal',
      PORTAL_OIDC_CLIENT_SECRET_FILE: path.join(secretDir, 'secret'),
      // The browser comes back to the gateway itself.
      PORTAL_OIDC_REDIRECT_URL: `http://127.0.0.1:${port}/portal/oidc/callback`,
      PORTAL_OIDC_ROLE_MAP: 'gw-ops=operations,gw-admin=admin',
    });
  });
  after(async () => {
    await provider.stop();
    rmSync(secretDir, { recursive: true, force: true });
  });
  const suite = gatewaySuite({ env });
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  it('a staff member follows "Sign in with Example SSO" through the provider and lands on the portal home as operations', async () => {
    const { page } = b;
    await page.goto('/portal/sign-in');
    const visited: string[] = [];
    page.on('request', (r) => r.isNavigationRequest() && visited.push(r.url()));
    await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
    // The test provider has no login page: its authorize endpoint redirects straight back with a
    // code, as a real provider does once the person is signed in there.
    await page.waitForURL(`${suite.url}/portal/`, { timeout: 30_000 });
    assert.ok(
      visited.some((u) => u.startsWith(`${provider.issuer.url}/authorize?`)),
      `the browser went through the provider: ${visited.join(' → ')}`,
    );
    assert.ok(visited.some((u) => u.startsWith(`${suite.url}/portal/oidc/callback?`)));
    assert.equal(await page.locator('dt:text-is("Role") + dd').textContent(), 'operations');
    await b.screenshot('portal-journey-oidc-operations');
  });
});
