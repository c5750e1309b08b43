import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../../src/security/audit.js';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';

const ASN = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');
const PASSWORD = 'security pages password 1';
/** Long enough for both keys to be tried inside it on a loaded machine; the test then waits for it to end. */
const OVERLAP_SECONDS = 8;

let shipments = 0;
/** Whether a Northwind API key gets a ship notice accepted at the REST door (202) rather than refused (401). */
async function keyWorks(url: string, key: string): Promise<boolean> {
  shipments += 1;
  const r = await post(url, key, 'application/json', ASN.replace('NW-SH-10045', `NW-SH-SEC-${Date.now()}-${shipments}`));
  assert.ok([202, 401].includes(r.status), JSON.stringify(r.body));
  return r.status === 202;
}

const secretOf = (html: string) => /<code id="secret">([^<]+)<\/code>/.exec(html)?.[1];
const refOf = (html: string) => /<h1>(?:Issued|Rotated): [a-z-]+ <a href="[^"]+"><code>([^<]+)<\/code>/.exec(html)?.[1];

describe('portal security pages (real server, real PostgreSQL)', function () {
  this.timeout(120_000);
  const s = gatewaySuite();
  const sam = new PortalClient(() => s.url);
  let csrf = '';

  before(async () => {
    const now = new Date();
    await addUser(s.db.knex, { username: 'sam', displayName: 'Sam Security', role: 'security', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'pam', displayName: 'Pam Manager', role: 'partner-manager', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga Ops', role: 'operations', partnerId: null }, PASSWORD, now);
    await sam.signIn('sam', PASSWORD);
    csrf = await sam.formToken('/portal/security/issue');
  });

  it('lists every credential of every partner, profile and store, filtered by partner and kind', async () => {
    const home = await sam.request('/portal/');
    assert.match(home.text, /href="\/portal\/security\/credentials"/, 'the home links the security pages');
    const all = await sam.request('/portal/security/credentials');
    assert.equal(all.status, 200, all.text);
    for (const ref of ['acmedemo', 'nwdemo']) assert.match(all.text, new RegExp(`<code>${ref}</code>`));
    assert.match(all.text, /<td>profile<\/td>/);
    assert.ok(!all.text.includes('sha256'), 'hashes are never shown');
    const filtered = await sam.request('/portal/security/credentials?partner=northwind&kind=api-key');
    assert.match(filtered.text, /<code>nwdemo<\/code>/);
    assert.ok(!filtered.text.includes('<code>acmedemo</code>'), 'another partner filtered out');
    assert.equal((await sam.request('/portal/security/credentials?kind=nonsense')).status, 400);
  });

  it('issues an API key through its confirmation: the secret is on the answer page only', async () => {
    const refused = await sam.request('/portal/security/issue', { form: { csrf, kind: 'api-key', partner: 'acme-supply' } });
    assert.equal(refused.status, 400, 'without the confirmation box, nothing is issued');
    const before = await s.db.knex('credentials').count({ n: '*' }).first();
    assert.equal(Number(before?.n), 0);

    const r = await sam.request('/portal/security/issue', { form: { csrf, kind: 'api-key', partner: 'acme-supply', scopes: '', confirm: 'yes' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const secret = secretOf(r.text);
    const ref = refOf(r.text);
    assert.ok(secret && ref, r.text);
    assert.match(secret, new RegExp(`^gw_${ref}_`));
    const later = [
      '/portal/security/credentials',
      `/portal/security/credentials/api-key/${ref}`,
      '/portal/security/expiring?days=3650',
      '/portal/security/audit',
      '/portal/',
    ];
    for (const p of later) {
      const page = await sam.request(p);
      assert.equal(page.status, 200, `${p}: ${page.text}`);
      assert.ok(!page.text.includes(secret), `the secret is not on ${p}`);
    }
    assert.match((await sam.request(`/portal/security/credentials/api-key/${ref}`)).text, /<dt>Source<\/dt><dd>store<\/dd>/);
    const rows = await s.db.knex('audit_log').where({ action: 'credential.issue' });
    assert.deepEqual(
      rows.map((a) => [a.actor, a.target]),
      [['portal:sam', `api-key:${ref}`]],
    );
    assert.ok(!JSON.stringify(rows).includes(secret.slice(-20)), 'the secret is not in the audit');
  });

  it('rotates with an overlap (both keys work at the REST door, then only the new one) and revokes at once', async () => {
    assert.equal(await keyWorks(s.url, NORTHWIND_KEY), true, 'the profile key works before');
    const page = await sam.request('/portal/security/credentials/api-key/nwdemo');
    assert.match(page.text, /action="\/portal\/security\/rotate"/);
    const r = await sam.request('/portal/security/rotate', {
      form: { csrf, kind: 'api-key', partner: 'northwind', overlapSeconds: String(OVERLAP_SECONDS), confirm: 'yes' },
    });
    assert.equal(r.status, 201, r.text);
    const fresh = secretOf(r.text) as string;
    const ref = refOf(r.text) as string;
    assert.ok(fresh && ref, r.text);
    assert.match(r.text, /<code>nwdemo<\/code><\/a> works until/, 'the retiring key and its end');
    assert.deepEqual([await keyWorks(s.url, NORTHWIND_KEY), await keyWorks(s.url, fresh)], [true, true], 'inside the overlap both work');
    await waitFor(
      'the overlap to end',
      () => keyWorks(s.url, NORTHWIND_KEY),
      (works) => !works,
      (OVERLAP_SECONDS + 20) * 1000,
    );
    assert.equal(await keyWorks(s.url, fresh), true, 'after the overlap the new key still works');

    const unconfirmed = await sam.request(`/portal/security/credentials/api-key/${ref}/revoke`, { form: { csrf } });
    assert.equal(unconfirmed.status, 400);
    assert.equal(await keyWorks(s.url, fresh), true, 'an unconfirmed revocation does nothing');
    const revoked = await sam.request(`/portal/security/credentials/api-key/${ref}/revoke`, { form: { csrf, confirm: 'yes' } });
    assert.equal(revoked.status, 303, revoked.text);
    assert.equal(revoked.location, `/portal/security/credentials/api-key/${ref}?done=revoke`);
    assert.equal(await keyWorks(s.url, fresh), false, 'a revoked key stops at once');
    const shown = await sam.request(revoked.location as string);
    assert.match(shown.text, /<dt>State<\/dt><dd>revoked<\/dd>/);
    assert.ok(!shown.text.includes(fresh), 'the secret is never shown again');

    const rows = await s.db.knex('audit_log').whereIn('action', ['credential.rotate', 'credential.revoke']).orderBy('id');
    assert.deepEqual(
      rows.map((a) => [a.actor, a.action, a.target]),
      [
        ['portal:sam', 'credential.rotate', `api-key:${ref}`],
        ['portal:sam', 'credential.revoke', `api-key:${ref}`],
      ],
    );
  });

  it('filters the audit log and pages it by keyset', async () => {
    for (let i = 0; i < 55; i++) await audit(s.db.knex, { actor: 'portal:pager', action: 'credential.issue', target: `api-key:p${i}`, outcome: 'ok' });
    const first = await sam.request('/portal/security/audit?actor=portal%3Apager&action=credential.&target=&partner=&from=&to=');
    assert.equal(first.status, 200, first.text);
    assert.equal((first.text.match(/<td>portal:pager<\/td>/g) ?? []).length, 50);
    assert.match(first.text, /api-key:p54/, 'newest first');
    const next = /<a href="(\/portal\/security\/audit\?[^"]+)">Next page<\/a>/.exec(first.text)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(next, 'a next page');
    const second = await sam.request(next);
    assert.equal((second.text.match(/<td>portal:pager<\/td>/g) ?? []).length, 5);
    assert.match(second.text, /api-key:p0</);
    assert.ok(!second.text.includes('Next page'));
    const sams = await sam.request('/portal/security/audit?actor=portal%3Asam&partner=northwind');
    assert.match(sams.text, /credential\.rotate/);
    assert.ok(!sams.text.includes('credential.issue'), 'the issue concerned acme-supply');
    const future = await sam.request('/portal/security/audit?from=2999-01-01');
    assert.match(future.text, /No audit entry matches/);
    assert.equal((await sam.request('/portal/security/audit?limit=5')).status, 400, 'an unknown filter is refused');
  });

  it('refuses partner managers and operations on every security page and form, and offers no credential change to operations', async () => {
    for (const [username, role] of [
      ['pam', 'partner-manager'],
      ['olga', 'operations'],
    ]) {
      const c = new PortalClient(() => s.url);
      await c.signIn(username as string, PASSWORD);
      assert.ok(!(await c.request('/portal/')).text.includes('/portal/security/'), `no security link for ${role}`);
      const theirs = await c.formToken('/portal/');
      for (const p of [
        '/portal/security/credentials',
        '/portal/security/credentials/api-key/acmedemo',
        '/portal/security/issue',
        '/portal/security/expiring',
        '/portal/security/audit',
      ]) {
        const r = await c.request(p);
        assert.deepEqual([r.status, /GW_PORTAL_ROLE/.test(r.text)], [403, true], `${role} GET ${p}`);
      }
      const form = { csrf: theirs, kind: 'api-key', partner: 'acme-supply', confirm: 'yes' };
      for (const p of ['/portal/security/issue', '/portal/security/rotate', '/portal/security/credentials/api-key/acmedemo/revoke']) {
        const r = await c.request(p, { form });
        assert.deepEqual([r.status, /GW_PORTAL_ROLE/.test(r.text)], [403, true], `${role} POST ${p}`);
      }
      if (role === 'operations') {
        for (const p of ['/ops/v1/credentials', '/ops/v1/credentials/rotate', '/ops/v1/credentials/api-key/acmedemo/revoke'])
          assert.equal((await c.request(p, { form })).status, 404, `the operations API has no ${p}`);
        assert.equal((await c.request('/admin/v1/credentials', { form })).status, 401, 'the admin API takes no portal session');
      }
    }
    assert.equal(await keyWorks(s.url, 'gw_acmedemo_Dm0AcmeSupplyOnlyForTheLocalDemo000000000'), true, 'nothing was revoked');
  });

  it('refuses a form without the session token', async () => {
    const count = async () => Number((await s.db.knex('credentials').count({ n: '*' }).first())?.n);
    const before = await count();
    for (const token of ['', 'x'.repeat(csrf.length)]) {
      const r = await sam.request('/portal/security/issue', { form: { csrf: token, kind: 'api-key', partner: 'acme-supply', confirm: 'yes' } });
      assert.deepEqual([r.status, /GW_PORTAL_CSRF/.test(r.text)], [403, true], r.text);
    }
    const revoke = await sam.request('/portal/security/credentials/api-key/acmedemo/revoke', { form: { confirm: 'yes' } });
    assert.equal(revoke.status, 403);
    assert.equal(await count(), before, 'nothing issued');
    assert.equal(await s.db.knex('credential_retirements').where({ ref: 'acmedemo' }).first(), undefined, 'nothing revoked');
  });
});
