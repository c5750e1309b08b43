import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { readSettings } from '../../src/config/env.js';
import { answerErrors } from '../../src/channels/http/error-answers.js';
import { portalUser } from '../../src/channels/http/portal-auth.js';
import { createLogger } from '../../src/observability/logger.js';
import { PortalAccess } from '../../src/security/portal-sign-in.js';
import { allowedScopes } from '../../src/security/scopes.js';
import { runCli, runProcess } from '../helpers/cli.js';
import { PortalClient } from '../helpers/portal-client.js';
import { gatewaySuite } from '../helpers/gateway.js';

const ALICE_PASSWORD = 'correct horse battery staple';

describe('portal sign-in (real server, real HTTP, real CLI)', function () {
  // CLI commands are new node processes compiling TypeScript; on a loaded machine each takes seconds.
  this.timeout(180_000);
  let offsetMs = 0;
  /** The portal's clock: moved forward instead of sleeping. */
  const now = () => new Date(Date.now() + offsetMs);
  const advance = (minutes: number) => {
    offsetMs += minutes * 60_000;
  };
  const suite = gatewaySuite({ now, env: { PORTAL_SESSION_MAX_SECONDS: '3600' } });
  const cli = (args: string[], input = '') =>
    runCli(['users', ...args], {
      env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
      input,
    });
  const auditRows = (action: string) => suite.db.knex('audit_log').where({ action }).orderBy('id');
  const browser = () => new PortalClient(() => suite.url);

  before(async () => {
    const alice = await cli(['add', 'Alice', '--role', 'supplier', '--partner', 'acme-supply', '--name', '<script>alert("x")</script> & Co'], ALICE_PASSWORD);
    assert.equal(alice.status, 0, alice.stderr);
    const oscar = await cli(['add', 'oscar', '--role', 'operations']);
    assert.equal(oscar.status, 0, oscar.stderr);
    const generated = /password \(shown once; only its scrypt hash is kept\):\n(\S+)\n/.exec(oscar.stdout)?.[1];
    assert.ok(generated && generated.length >= 20, oscar.stdout);
    oscarPassword = generated;
  });
  let oscarPassword = '';

  describe('gateway users', () => {
    it('lists users with role, partner and state, and audits each change under the CLI actor', async () => {
      const list = await cli(['list']);
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /^alice +supplier +acme-supply +active +never signed in/m);
      assert.match(list.stdout, /^oscar +operations +- +active/m);
      const added = await auditRows('portal.user.add');
      assert.deepEqual(
        added.map((r) => [r.target, r.outcome, r.actor.startsWith('cli:')]),
        [
          ['portal-user:alice', 'ok', true],
          ['portal-user:oscar', 'ok', true],
        ],
      );
    });

    it('refuses a supplier without a partner, an unknown partner, an unknown role and a taken username (exit 1, audited)', async () => {
      const cases: [string[], RegExp][] = [
        [['add', 'sam', '--role', 'supplier'], /GW_PORTAL_USER: A supplier user acts for one partner/],
        [['add', 'sam', '--role', 'supplier', '--partner', 'nobody'], /GW_PORTAL_USER: No partner "nobody"/],
        [['add', 'sam', '--role', 'king'], /GW_PORTAL_USER: --role must be one of supplier, partner-manager/],
        [['add', 'oscar', '--role', 'admin'], /GW_PORTAL_USER: A user "oscar" exists already/],
      ];
      for (const [args, message] of cases) {
        const r = await cli(args, 'a long enough password');
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
        assert.match(r.stderr, message);
      }
      const refused = (await auditRows('portal.user.add')).filter((r) => r.outcome === 'denied');
      assert.deepEqual(
        refused.map((r) => r.target),
        ['portal-user:oscar'],
      );
    });
  });

  describe('sign-in and sign-out', () => {
    it('sends a visitor without a session from / to the sign-in form, a labelled form with no external assets', async () => {
      const b = browser();
      const root = await b.request('/');
      assert.deepEqual([root.status, root.location], [303, '/portal/sign-in']);
      const form = await b.request('/portal/sign-in');
      assert.equal(form.status, 200);
      assert.match(form.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(form.text, /<label for="username">Username<\/label>\n<input id="username" name="username"/);
      assert.match(form.text, /<label for="password">Password<\/label>\n<input id="password" name="password" type="password"/);
      assert.doesNotMatch(form.text, /<script|<link|src=|https?:\/\//);
      assert.match(form.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const home = await b.request('/portal/');
      assert.deepEqual([home.status, home.location], [303, '/portal/sign-in']);
    });

    it('signs in with an http-only, SameSite=Lax session cookie for the whole site, and shows who is signed in (escaped)', async () => {
      const b = browser();
      const r = await b.attemptSignIn('ALICE', ALICE_PASSWORD);
      assert.deepEqual([r.status, r.location], [303, '/portal/']);
      const session = r.setCookies.find((c) => c.startsWith('gw_session='));
      assert.ok(session, r.setCookies.join('\n'));
      assert.match(session, /^gw_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/, 'no Secure over plain HTTP');
      const home = await b.request('/portal/');
      assert.equal(home.status, 200);
      assert.ok(home.text.includes('<strong>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</strong>'), home.text);
      assert.doesNotMatch(home.text, /<script>/);
      assert.match(home.text, /<dt>Role<\/dt><dd>supplier<\/dd>/);
      assert.match(home.text, /<dt>Partner<\/dt><dd>ACME \(test\) \(acme-supply\)<\/dd>/);
      assert.deepEqual([(await b.request('/')).location], ['/portal/']);
      const me = JSON.parse((await b.request('/portal/api/me')).text);
      assert.deepEqual(me.scopes, [...allowedScopes(suite.t.gw.config().partners.get('acme-supply')!)].sort());
      assert.equal(me.partner, 'acme-supply');
      const stored = await suite.db.knex('portal_sessions').select('id_sha256');
      assert.ok(!stored.some((s) => s.id_sha256 === b.jar.get('gw_session')), 'the table holds a hash, not the cookie value');
      const signIns = await auditRows('portal.sign-in');
      assert.deepEqual([signIns.at(-1).actor, signIns.at(-1).outcome, signIns.at(-1).source], ['portal:alice', 'ok', '127.0.0.1']);
    });

    it('sets the cookie Secure when the request came over HTTPS', async () => {
      const https = suite.t.gw.https?.url;
      assert.ok(https);
      const r = await runProcess('curl', ['-sk', '-o', '/dev/null', '-D', '-', `${https}/portal/sign-in`]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^set-cookie: gw_signin=[A-Za-z0-9_-]{43}; Path=\/portal\/sign-in; HttpOnly; SameSite=Lax; Secure\r$/im);
    });

    it('signs out only with the form token of the session, and the session is over afterwards', async () => {
      const b = browser();
      await b.attemptSignIn('alice', ALICE_PASSWORD);
      const token = await b.formToken('/portal/');
      const missing = await b.request('/portal/sign-out', { form: {} });
      assert.equal(missing.status, 403);
      assert.match(missing.text, /<code>GW_PORTAL_CSRF<\/code>/);
      const wrong = await b.request('/portal/sign-out', { form: { csrf: token === 'A'.repeat(43) ? 'B'.repeat(43) : 'A'.repeat(43) } });
      assert.equal(wrong.status, 403);
      assert.equal((await b.request('/portal/')).status, 200, 'a refused sign-out changes nothing');
      const cookie = b.jar.get('gw_session');
      const out = await b.request('/portal/sign-out', { form: { csrf: token } });
      assert.deepEqual([out.status, out.location], [303, '/portal/sign-in']);
      assert.ok(out.setCookies.some((c) => /^gw_session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0$/.test(c)));
      b.jar.set('gw_session', cookie as string); // a copy of the cookie kept elsewhere is worth nothing now
      assert.deepEqual([(await b.request('/portal/')).location], ['/portal/sign-in']);
      const api = await b.request('/portal/api/me');
      assert.equal(api.status, 401);
      assert.equal(JSON.parse(api.text).error.code, 'GW_PORTAL_SESSION');
      assert.equal((await auditRows('portal.sign-out')).length, 1);
    });

    it('refuses a sign-in form without the token of its cookie', async () => {
      const b = browser();
      const csrf = await b.formToken('/portal/sign-in');
      const wrong = await b.request('/portal/sign-in', { form: { csrf: 'x'.repeat(43), username: 'alice', password: ALICE_PASSWORD } });
      assert.equal(wrong.status, 403);
      assert.match(wrong.text, /GW_PORTAL_CSRF/);
      b.jar.delete('gw_signin');
      const noCookie = await b.request('/portal/sign-in', { form: { csrf, username: 'alice', password: ALICE_PASSWORD } });
      assert.equal(noCookie.status, 403);
      assert.ok(!noCookie.setCookies.some((c) => c.startsWith('gw_session=')));
    });

    it('answers an unknown user exactly as a wrong password', async () => {
      const b = browser();
      const unknown = await b.attemptSignIn('nobody', 'some password');
      const wrong = await b.attemptSignIn('alice', 'some password');
      assert.equal(unknown.status, 401);
      assert.equal(wrong.status, 401);
      assert.equal(unknown.text.replace('nobody', 'USER'), wrong.text.replace('alice', 'USER'));
      assert.match(wrong.text, /The username or password is wrong\./);
    });
  });

  describe('session ends', () => {
    it('ends a session idle for 30 minutes, and any session an hour after sign-in (PORTAL_SESSION_MAX_SECONDS)', async () => {
      const idle = browser();
      await idle.attemptSignIn('alice', ALICE_PASSWORD);
      const busy = browser();
      await busy.attemptSignIn('alice', ALICE_PASSWORD);
      advance(25);
      assert.equal((await busy.request('/portal/')).status, 200);
      advance(6);
      assert.deepEqual([(await idle.request('/portal/')).location], ['/portal/sign-in'], 'idle for 31 minutes');
      assert.equal((await busy.request('/portal/')).status, 200, 'seen 6 minutes ago');
      advance(25);
      assert.equal((await busy.request('/portal/')).status, 200);
      advance(5);
      assert.deepEqual([(await busy.request('/portal/')).location], ['/portal/sign-in'], '61 minutes after sign-in, busy or not');
    });

    it('ends every session of a user who is disabled, and refuses their sign-in as a wrong password', async () => {
      const b = browser();
      await b.attemptSignIn('oscar', oscarPassword);
      assert.equal((await b.request('/portal/')).status, 200);
      const r = await cli(['disable', 'oscar']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /oscar +operations +- +disabled .*\(1 session\(s\) ended\)/);
      assert.deepEqual([(await b.request('/portal/')).location], ['/portal/sign-in']);
      const again = await b.attemptSignIn('oscar', oscarPassword);
      assert.equal(again.status, 401);
      assert.match(again.text, /The username or password is wrong\./);
      assert.equal((await auditRows('portal.user.disable')).at(-1).outcome, 'ok');
    });

    it('`users passwd` sets a new password from stdin and ends the sessions of the old one', async () => {
      const b = browser();
      await b.attemptSignIn('alice', ALICE_PASSWORD);
      const r = await cli(['passwd', 'alice'], 'a brand new passphrase\n');
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /shown once/);
      assert.deepEqual([(await b.request('/portal/')).location], ['/portal/sign-in']);
      assert.equal((await b.attemptSignIn('alice', ALICE_PASSWORD)).status, 401);
      assert.equal((await b.attemptSignIn('alice', 'a brand new passphrase')).status, 303);
      const back = await cli(['passwd', 'alice'], ALICE_PASSWORD);
      assert.equal(back.status, 0, back.stderr);
      assert.equal((await auditRows('portal.user.passwd')).length, 2);
    });
  });

  describe('lockout', () => {
    beforeEach(() => advance(60)); // each test starts with no failure inside the window

    it('locks a username after 5 failures within 15 minutes, known or not, for 15 minutes', async () => {
      const b = browser();
      for (let i = 0; i < 5; i++) assert.equal((await b.attemptSignIn('alice', 'wrong password')).status, 401);
      for (let i = 0; i < 5; i++) assert.equal((await b.attemptSignIn('ghost', 'wrong password')).status, 401);
      const locked = await b.attemptSignIn('alice', ALICE_PASSWORD);
      const ghost = await b.attemptSignIn('ghost', 'wrong password');
      assert.equal(locked.status, 429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      assert.ok(retryAfter > 850 && retryAfter <= 900, `Retry-After ${retryAfter}: the rest of 15 minutes from the fifth failure`);
      assert.match(locked.text, /Too many failed sign-ins for this username or from this address/);
      assert.equal(ghost.text.replace('ghost', 'USER'), locked.text.replace('alice', 'USER'), 'an unknown username locks the same way');
      assert.equal((await b.attemptSignIn('oscar2', 'wrong password')).status, 401, 'other usernames are not locked');
      const lockouts = await auditRows('portal.lockout');
      assert.deepEqual(
        lockouts.slice(-2).map((r) => r.actor),
        ['portal:alice', 'portal:ghost'],
      );
      advance(14);
      assert.equal((await b.attemptSignIn('alice', ALICE_PASSWORD)).status, 429);
      advance(1.1);
      assert.equal((await b.attemptSignIn('alice', ALICE_PASSWORD)).status, 303, 'the lock ends 15 minutes after the fifth failure');
    });

    it('locks an address after 20 failures within 15 minutes, whatever the usernames', async () => {
      const b = browser();
      for (let i = 0; i < 20; i++) assert.equal((await b.attemptSignIn(`user${i}`, 'wrong password')).status, 401);
      const locked = await b.attemptSignIn('alice', ALICE_PASSWORD);
      assert.equal(locked.status, 429);
      assert.ok(!locked.setCookies.some((c) => c.startsWith('gw_session=')));
      assert.equal((await auditRows('portal.sign-in')).at(-1).details.reason, 'locked');
      advance(15.1);
      assert.equal((await b.attemptSignIn('alice', ALICE_PASSWORD)).status, 303);
    });
  });

  describe('portalUser(roles), the guard later pages use', () => {
    let server: Server;
    let url = '';
    before(async () => {
      const settings = readSettings({ PORTAL_SESSION_MAX_SECONDS: '3600' });
      const access = new PortalAccess({ knex: suite.db.knex, config: () => suite.t.gw.config(), settings: settings.portal, now });
      const app = new Koa();
      app.use(answerErrors(createLogger('silent')));
      app.use(portalUser(access, ['operations', 'admin']));
      app.use((ctx) => {
        ctx.body = 'operations page';
      });
      server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise((r) => server.close(r)));

    it('redirects a page without a session to sign-in, answers 401 to an API call, 403 to the wrong role, lets the right role in', async () => {
      const anonymous = await fetch(`${url}/portal/operations`, { redirect: 'manual' });
      assert.deepEqual([anonymous.status, anonymous.headers.get('location')], [303, '/portal/sign-in']);
      const api = await fetch(`${url}/portal/api/operations`);
      assert.equal(api.status, 401);
      const b = browser();
      advance(60);
      await b.attemptSignIn('alice', ALICE_PASSWORD);
      const supplier = await fetch(`${url}/portal/operations`, { headers: { cookie: `gw_session=${b.jar.get('gw_session')}` } });
      assert.equal(supplier.status, 403);
      assert.equal(((await supplier.json()) as { error: { code: string } }).error.code, 'GW_PORTAL_ROLE');
      const added = await cli(['add', 'opal', '--role', 'operations'], 'opal operations passphrase');
      assert.equal(added.status, 0, added.stderr);
      const operator = browser();
      await operator.attemptSignIn('opal', 'opal operations passphrase');
      const allowed = await fetch(`${url}/portal/operations`, { headers: { cookie: `gw_session=${operator.jar.get('gw_session')}` } });
      assert.deepEqual([allowed.status, await allowed.text()], [200, 'operations page']);
    });
  });
});
