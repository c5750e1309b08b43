import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type MutableResponse, type MutableToken, OAuth2Server } from 'oauth2-mock-server';
import { readSettings } from '../../src/config/env.js';
import { gatewaySuite } from '../helpers/gateway.js';

/** The portal's public URL as the provider knows it (a proxy in front); the test's browser sends its requests to the gateway itself. */
const PUBLIC = 'https://portal.example';

/** A browser without a browser: follows no redirect by itself, and keeps the gateway's cookies for the gateway only. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(private readonly gateway: () => string) {}

  async get(url: string) {
    const target = url.startsWith(PUBLIC) ? this.gateway() + url.slice(PUBLIC.length) : url.startsWith('/') ? this.gateway() + url : url;
    const ours = target.startsWith(this.gateway());
    const res = await fetch(target, {
      redirect: 'manual',
      headers: ours && this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {},
    });
    for (const c of ours ? res.headers.getSetCookie() : []) {
      const [pair] = c.split(';') as [string];
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location') ?? '', setCookies: res.headers.getSetCookie(), text: await res.text() };
  }
}

describe('portal sign-in by OpenID Connect (a real OIDC provider on a loopback port)', function () {
  this.timeout(60_000);
  const provider = new OAuth2Server();
  const secretDir = mkdtempSync(path.join(tmpdir(), 'gw-oidc-'));
  const env: Record<string, string> = {};
  /** What the provider puts in the next tokens it signs, beyond its own claims. */
  let claims: Record<string, unknown> = {};

  before(async () => {
    await provider.issuer.keys.generate('RS256');
    await provider.start(0, '127.0.0.1');
    provider.service.on('beforeTokenSigning', (token: MutableToken) => Object.assign(token.payload, claims));
    writeFileSync(path.join(secretDir, 'secret'), 'portal-client-secret\n');
    Object.assign(env, {
      PORTAL_OIDC_ISSUER: provider.issuer.url as string,
      PORTAL_OIDC_NAME: 'Example SSO',
      // Without characters that form encoding changes: the test provider does not decode the Basic credentials' name.
      PORTAL_OIDC_CLIENT_ID: 'gwportal',
      PORTAL_OIDC_CLIENT_SECRET_FILE: path.join(secretDir, 'secret'),
      PORTAL_OIDC_REDIRECT_URL: `${PUBLIC}/portal/oidc/callback`,
      PORTAL_OIDC_ROLE_MAP: 'gw-ops=operations,gw-sec=security,gw-admin=admin,gw-pm=partner-manager',
    });
  });
  after(async () => {
    await provider.stop();
    rmSync(secretDir, { recursive: true, force: true });
  });
  const suite = gatewaySuite({ env });
  const browser = () => new Browser(() => suite.url);
  const signIns = () => suite.db.knex('audit_log').where({ action: 'portal.sign-in' }).orderBy('id');
  const lastSignIn = async () => (await signIns()).at(-1);

  /** Start at the gateway, let the provider authorize (it signs anyone in), and come back: the three hops of a browser. */
  async function viaProvider(b: Browser, person: Record<string, unknown>) {
    claims = person;
    const start = await b.get('/portal/oidc/start');
    assert.equal(start.status, 303, start.text);
    const authorize = new URL(start.location);
    const answer = await b.get(start.location);
    assert.equal(answer.status, 302, answer.text);
    const callback = await b.get(answer.location);
    return { authorize, callbackUrl: answer.location, callback };
  }

  const ORIANA = { sub: 'u-1001', preferred_username: 'Oriana', name: 'Oriana Ops', groups: ['staff', 'gw-ops'] };

  it('shows the provider on the sign-in page and sends the browser there with PKCE S256, state and nonce', async () => {
    const b = browser();
    const form = await b.get('/portal/sign-in');
    assert.match(form.text, /<a href="\/portal\/oidc\/start">Sign in with Example SSO<\/a>/);
    const start = await b.get('/portal/oidc/start');
    assert.equal(start.status, 303);
    const url = new URL(start.location);
    assert.equal(`${url.origin}${url.pathname}`, `${provider.issuer.url}/authorize`);
    const q = url.searchParams;
    assert.deepEqual(
      [q.get('response_type'), q.get('client_id'), q.get('redirect_uri'), q.get('code_challenge_method')],
      ['code', 'gwportal', `${PUBLIC}/portal/oidc/callback`, 'S256'],
    );
    for (const p of ['state', 'nonce', 'code_challenge']) assert.match(q.get(p) ?? '', /^[A-Za-z0-9_-]{43}$/, p);
    assert.match(q.get('scope') ?? '', /\bopenid\b/);
    const pending = start.setCookies.find((c) => c.startsWith('gw_oidc='));
    assert.match(pending ?? '', /; Path=\/portal\/oidc\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
  });

  it('signs in a staff member whose group maps to operations: a portal session with that role, an oidc user row, an audit row', async () => {
    const b = browser();
    const { callback } = await viaProvider(b, ORIANA);
    assert.deepEqual([callback.status, callback.location], [303, '/portal/'], callback.text);
    assert.ok(b.jar.get('gw_session'));
    assert.equal(b.jar.has('gw_oidc'), false);
    const me = await fetch(`${suite.url}/portal/api/me`, { headers: { cookie: `gw_session=${b.jar.get('gw_session')}` } });
    assert.deepEqual(await me.json(), { username: 'oidc:oriana', displayName: 'Oriana Ops', role: 'operations', partner: null, scopes: [] });
    const user = await suite.db.knex('portal_users').where({ username: 'oidc:oriana' }).first();
    assert.deepEqual(
      [user.source, user.password_hash, user.oidc_issuer, user.oidc_subject, user.role],
      ['oidc', null, provider.issuer.url, 'u-1001', 'operations'],
    );
    const row = await lastSignIn();
    assert.deepEqual([row.actor, row.target, row.outcome], ['portal:oidc:oriana', 'portal-user:oidc:oriana', 'ok']);
    assert.equal(row.details.method, 'oidc');
    assert.equal(row.details.subject, 'u-1001');
    // The next sign-in takes the role the groups give now: the highest one.
    const again = await viaProvider(browser(), { ...ORIANA, groups: ['gw-pm', 'gw-sec', 'gw-ops'] });
    assert.equal(again.callback.status, 303);
    assert.equal((await suite.db.knex('portal_users').where({ oidc_subject: 'u-1001' })).map((u) => u.role).join(), 'security');
  });

  it('refuses a callback whose state is not the one this browser was sent with, and audits it', async () => {
    const b = browser();
    claims = ORIANA;
    const start = await b.get('/portal/oidc/start');
    const answer = await b.get(start.location);
    const forged = new URL(answer.location);
    forged.searchParams.set('state', 'x'.repeat(43));
    const r = await b.get(forged.href);
    assert.equal(r.status, 401);
    assert.match(r.text, /GW_PORTAL_OIDC/);
    assert.equal(b.jar.has('gw_session'), false);
    const row = await lastSignIn();
    assert.equal(row.outcome, 'denied');
    assert.match(row.details.reason, /state/i);
  });

  it('refuses a replayed callback, and a code used twice at the provider', async () => {
    const b = browser();
    const first = await viaProvider(b, ORIANA);
    assert.equal(first.callback.status, 303);
    // The same answer again (the pending sign-in it belonged to is used up).
    b.jar.set('gw_oidc', 'y'.repeat(43));
    const replay = await b.get(first.callbackUrl);
    assert.equal(replay.status, 401);
    assert.equal((await lastSignIn()).details.reason, 'not-pending');
    // The old code carried into a new sign-in's answer: the provider refuses the second redemption.
    const fresh = browser();
    claims = ORIANA;
    const start = await fresh.get('/portal/oidc/start');
    const state = new URL(start.location).searchParams.get('state') as string;
    const oldCode = new URL(first.callbackUrl).searchParams.get('code') as string;
    const r = await fresh.get(`${PUBLIC}/portal/oidc/callback?code=${oldCode}&state=${state}`);
    assert.equal(r.status, 401);
    assert.equal(fresh.jar.has('gw_session'), false);
    const row = await lastSignIn();
    assert.equal(row.outcome, 'denied');
    assert.match(row.details.reason, /invalid_request|code_challenge/);
  });

  for (const [what, tamper, reason] of [
    ['another nonce', { nonce: 'not-the-one-we-sent' }, /nonce/],
    ['another audience', { aud: 'some-other-client' }, /aud/],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 600 }, /exp/],
    ['another issuer', { iss: 'https://idp.elsewhere.example' }, /iss/],
  ] as const) {
    it(`refuses an ID token with ${what}, and audits it`, async () => {
      const b = browser();
      const { callback } = await viaProvider(b, { ...ORIANA, ...tamper });
      assert.equal(callback.status, 401, callback.text);
      assert.equal(b.jar.has('gw_session'), false);
      const row = await lastSignIn();
      assert.deepEqual([row.actor, row.outcome], ['portal:oidc', 'denied']);
      assert.match(row.details.reason, reason);
    });
  }

  it("refuses an ID token whose signature does not verify against the provider's JWKS, though it came straight from the token endpoint", async () => {
    provider.service.once('beforeResponse', (response: MutableResponse) => {
      const body = response.body as { id_token: string };
      const [header, payload, signature] = body.id_token.split('.') as [string, string, string];
      // The same header and signature over claims changed in transit: a role the provider never gave.
      const claimsSent = JSON.parse(Buffer.from(payload, 'base64url').toString());
      body.id_token = [header, Buffer.from(JSON.stringify({ ...claimsSent, groups: ['gw-admin'] })).toString('base64url'), signature].join('.');
    });
    const b = browser();
    const { callback } = await viaProvider(b, ORIANA);
    assert.equal(callback.status, 401, callback.text);
    assert.equal(b.jar.has('gw_session'), false);
    const row = await lastSignIn();
    assert.deepEqual([row.actor, row.outcome], ['portal:oidc', 'denied']);
    assert.match(row.details.reason, /signature/i);
  });

  it('refuses a staff member none of whose groups maps to a role, with a page that says so, and audits it', async () => {
    const b = browser();
    const before = await suite.db.knex('portal_users').count({ n: '*' }).first();
    const { callback } = await viaProvider(b, { sub: 'u-2002', preferred_username: 'nobody', groups: ['staff', 'gw-ops-readers'] });
    assert.equal(callback.status, 403);
    assert.match(callback.text, /None of your groups at the identity provider gives a role in the portal/);
    assert.match(callback.text, /GW_PORTAL_OIDC_GROUP/);
    assert.equal(b.jar.has('gw_session'), false);
    const row = await lastSignIn();
    assert.deepEqual([row.actor, row.outcome, row.details.reason], ['portal:oidc:u-2002', 'denied', 'no-mapped-group']);
    assert.deepEqual(row.details.groups, ['staff', 'gw-ops-readers']);
    assert.deepEqual(await suite.db.knex('portal_users').count({ n: '*' }).first(), before);
  });

  it('refuses a user an administrator disabled, even with a mapped group', async () => {
    await suite.db.knex('portal_users').where({ oidc_subject: 'u-1001' }).update({ disabled: true });
    const b = browser();
    const { callback } = await viaProvider(b, ORIANA);
    assert.equal(callback.status, 401);
    assert.equal(b.jar.has('gw_session'), false);
    const row = await lastSignIn();
    assert.deepEqual([row.actor, row.outcome, row.details.reason], ['portal:oidc:oriana', 'denied', 'disabled']);
  });
});

describe('portal OIDC settings', () => {
  const base = {
    PORTAL_OIDC_ISSUER: 'https://idp.example.com/realms/staff',
    PORTAL_OIDC_CLIENT_ID: 'gateway',
    PORTAL_OIDC_REDIRECT_URL: 'https://gateway.example.com/portal/oidc/callback',
    PORTAL_OIDC_ROLE_MAP: 'gw-ops=operations, gw-admin=admin',
  };
  const refusal = (env: Record<string, string | undefined>) => {
    try {
      readSettings(env);
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
    return 'accepted';
  };

  it('reads the provider, the groups claim (default groups) and the role map', () => {
    const oidc = readSettings(base).portal.oidc;
    assert.equal(oidc?.groupsClaim, 'groups');
    assert.deepEqual(
      [...(oidc?.roleMap ?? [])],
      [
        ['gw-ops', 'operations'],
        ['gw-admin', 'admin'],
      ],
    );
    assert.equal(readSettings({}).portal.oidc, undefined);
  });

  it('refuses a supplier role in the map, a half configuration, and a secret given twice', () => {
    assert.match(refusal({ ...base, PORTAL_OIDC_ROLE_MAP: 'gw-acme=supplier' }), /^GW_CONFIG_INVALID: PORTAL_OIDC_ROLE_MAP: "gw-acme=supplier"/);
    assert.match(refusal({ ...base, PORTAL_OIDC_CLIENT_ID: undefined }), /^GW_CONFIG_INVALID: PORTAL_OIDC_ISSUER is set but PORTAL_OIDC_CLIENT_ID not/);
    assert.match(refusal({ ...base, PORTAL_OIDC_CLIENT_SECRET: 's', PORTAL_OIDC_CLIENT_SECRET_FILE: '/run/s' }), /not both/);
    assert.match(
      refusal({ ...base, PORTAL_OIDC_REDIRECT_URL: 'https://gateway.example.com/elsewhere' }),
      /^GW_CONFIG_INVALID: Environment variable PORTAL_OIDC_REDIRECT_URL/,
    );
  });
});
