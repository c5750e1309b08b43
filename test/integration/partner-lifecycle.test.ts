import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readAudit } from '../../src/security/audit.js';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { runCli } from '../helpers/cli.js';
import { ErpReceiver } from '../helpers/erp.js';
import { NOVA, novaProfile } from '../helpers/nova.js';
import { withControl } from '../helpers/x12.js';
import { ACME_KEY, gatewaySuite, NORTHWIND_KEY, post, SUSPENDED, status, terminal, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { ADMIN } from '../helpers/security.js';

const SOI_856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const ASN = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');
const PASSWORD = 'partner manager password 1';

describe('partner lifecycle: onboarding → testing → live, test routes and go-live (real server, real PostgreSQL)', function () {
  this.timeout(120_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}` } });
  const testErp = new ErpReceiver();
  const pia = new PortalClient(() => s.url);
  let csrf = '';

  const call = async (method: string, p: string, body?: unknown, as: 'admin' | 'pia' = 'admin') => {
    const auth: Record<string, string> =
      as === 'admin' ? { authorization: `Bearer ${ADMIN.key}` } : { cookie: [...pia.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': csrf };
    const res = await fetch(`${s.url}/partners/v1${p}`, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const sendAsn = async (n: string) => {
    const r = await post(s.url, NOVA.key, 'application/json', ASN.replace('NW-SH-10045', `NOVA-${n}`));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitFor(`${n} settles`, () => status(s.url, NOVA.key, r.body.messageId), terminal, 30_000);
  };
  const item = (body: Record<string, any>, name: string) => (body.checklist as { item: string; done: boolean }[]).find((i) => i.item === name);

  before(async () => {
    await testErp.start();
    await writeFile(path.join(s.t.partnersDir, 'nova-parts.yaml'), novaProfile(testErp.url, s.erp.url));
    await s.t.gw.reload();
    await addUser(s.db.knex, { username: 'pia', displayName: 'Pia', role: 'partner-manager', partnerId: null }, PASSWORD, new Date());
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, new Date());
    await pia.signIn('pia', PASSWORD);
    csrf = (await call('GET', '/whoami', undefined, 'pia')).body.csrfToken;
  });
  after(() => testErp.stop());

  it('starts a new partner in onboarding (from its profile) and shows both sources and which applies', async () => {
    const r = await call('GET', '/partners/nova-parts', undefined, 'pia');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      [r.body.lifecycle.state, r.body.lifecycle.yaml, r.body.lifecycle.database, r.body.lifecycle.applies],
      ['onboarding', 'onboarding', null, 'yaml'],
    );
    assert.deepEqual(
      r.body.checklist.map((i: { item: string; done: boolean }) => [i.item, i.done]),
      [
        ['credentials:rest', true],
        ['test-message:asn', false],
        ['approval', false],
      ],
    );
    const live = await call('GET', '/partners/northwind');
    assert.deepEqual([live.body.lifecycle.state, live.body.lifecycle.applies], ['live', 'yaml']);
  });

  it('refuses callers without the partner-manager or admin role', async () => {
    const olga = new PortalClient(() => s.url);
    await olga.signIn('olga', PASSWORD);
    const res = await fetch(`${s.url}/partners/v1/partners/nova-parts`, { headers: { cookie: [...olga.jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'GW_PORTAL_ROLE');
  });

  it('sends an onboarding partner’s document to its test route only', async () => {
    const st = await sendAsn('ONB-1');
    assert.equal(st.body.state, 'delivered', JSON.stringify(st.body));
    assert.equal(testErp.requests.length, 1);
    assert.equal(s.erp.requests.filter((r) => JSON.stringify(r.body).includes('NOVA-')).length, 0);
    // Documents accepted in onboarding are not test messages: the window opens at testing.
    assert.equal(item((await call('GET', '/partners/nova-parts')).body, 'test-message:asn')?.done, false);
  });

  it('refuses go-live before the checklist is complete, naming what is missing, and audits the refusal', async () => {
    const moved = await call('POST', '/partners/nova-parts/state', { state: 'testing' }, 'pia');
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual([moved.body.lifecycle.state, moved.body.lifecycle.applies], ['testing', 'database']);
    const early = await call('POST', '/partners/nova-parts/go-live', {}, 'pia');
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'GW_PARTNER_NOT_READY');
    assert.match(early.body.error.message, /missing: test-message:asn, approval/);
    const straight = await call('POST', '/partners/nova-parts/state', { state: 'live' }, 'pia');
    assert.equal(straight.body.error.code, 'GW_PARTNER_STATE');
    const denied = await readAudit(s.db.knex, { action: 'partner.go-live' });
    assert.deepEqual(
      denied.map((a) => [a.actor, a.outcome, a.target]),
      [['portal:pia', 'denied', 'nova-parts']],
    );
  });

  it('fills the checklist from real traffic and approval, then goes live (audited with the actor)', async () => {
    const st = await sendAsn('TEST-1');
    assert.equal(st.body.state, 'delivered');
    assert.equal(testErp.requests.length, 2);
    assert.equal(item((await call('GET', '/partners/nova-parts')).body, 'test-message:asn')?.done, true);
    const approved = await call('POST', '/partners/nova-parts/approval', { approvedBy: 'Pia Partner-Manager' }, 'pia');
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.lifecycle.approval.by, 'Pia Partner-Manager');
    const live = await call('POST', '/partners/nova-parts/go-live', {}, 'pia');
    assert.equal(live.status, 200, JSON.stringify(live.body));
    assert.equal(live.body.lifecycle.state, 'live');
    assert.ok(live.body.checklist.every((i: { done: boolean }) => i.done));
    const ok = (await readAudit(s.db.knex, { action: 'partner.go-live' })).filter((a) => a.outcome === 'ok');
    assert.deepEqual(
      ok.map((a) => [a.actor, a.target]),
      [['portal:pia', 'nova-parts']],
    );
  });

  it('sends the documents of a live partner to production routes only', async () => {
    const st = await sendAsn('LIVE-1');
    assert.equal(st.body.state, 'delivered');
    assert.equal(testErp.requests.length, 2, 'nothing more reached the test route');
    const prod = s.erp.requests.filter((r) => JSON.stringify(r.body).includes('NOVA-'));
    assert.equal(prod.length, 1);
    assert.match(JSON.stringify(prod[0]?.body), /NOVA-LIVE-1/);
  });

  it('stops intake of a partner suspended in the database, and takes it again once live', async () => {
    const suspended = await call('POST', '/partners/nova-parts/state', { state: 'suspended' }, 'pia');
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const refused = await waitFor(
      'intake refused',
      () => post(s.url, NOVA.key, 'application/json', ASN.replace('NW-SH-10045', 'NOVA-SUSP-1')),
      (r) => r.status === 403,
      30_000,
    );
    assert.equal(refused.body.error.code, 'GW_PARTNER_INACTIVE');
    const back = await call('POST', '/partners/nova-parts/state', { state: 'live' }, 'pia');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    await waitFor(
      'intake again',
      () => post(s.url, NOVA.key, 'application/json', ASN.replace('NW-SH-10045', 'NOVA-BACK-1')),
      (r) => r.status === 202,
      30_000,
    );
    const moves = await readAudit(s.db.knex, { action: 'partner.state' });
    assert.deepEqual(moves.map((a) => [a.actor, a.target, (a.details as { to: string }).to]).reverse(), [
      ['portal:pia', 'nova-parts', 'testing'],
      ['portal:pia', 'nova-parts', 'suspended'],
      ['portal:pia', 'nova-parts', 'live'],
    ]);
  });

  it('lets a YAML suspension win over the database and stop intake as before', async () => {
    const r = await call('GET', '/partners/suspended-co');
    assert.deepEqual([r.body.lifecycle.state, r.body.lifecycle.applies], ['suspended', 'yaml']);
    const sent = await post(s.url, SUSPENDED.key, 'application/json', ASN);
    assert.equal(sent.status, 403);
    assert.equal(sent.body.error.code, 'GW_PARTNER_INACTIVE');
    const moved = await call('POST', '/partners/suspended-co/state', { state: 'testing' });
    assert.equal(moved.body.error.code, 'GW_PARTNER_STATE');
    assert.match(moved.body.error.message, /always wins/);
  });

  it('moves and shows a partner from the command line; another process hears the suspension', async () => {
    const cli = (args: string[]) =>
      runCli(['partners', ...args], { env: { DATABASE_URL: s.db.url, GATEWAY_DATA_DIR: s.t.dataDir, PARTNERS_DIR: s.t.partnersDir } });
    const shown = await cli(['state', 'nova-parts']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^nova-parts: live \(applies: database; profile onboarding, database live\)/);
    assert.match(shown.stdout, /\[x\] approval: approved by Pia Partner-Manager/);
    const suspended = await cli(['state', 'northwind', 'suspended']);
    assert.equal(suspended.status, 0, suspended.stderr);
    await waitFor(
      'northwind refused',
      () => post(s.url, NORTHWIND_KEY, 'application/json', ASN.replace('NW-SH-10045', 'NW-CLI-1')),
      (r) => r.status === 403,
      30_000,
    );
    const back = await cli(['state', 'northwind', 'live']);
    assert.equal(back.status, 0, back.stderr);
    await waitFor(
      'northwind again',
      () => post(s.url, NORTHWIND_KEY, 'application/json', ASN.replace('NW-SH-10045', 'NW-CLI-2')),
      (r) => r.status === 202,
      30_000,
    );
    const audited = await readAudit(s.db.knex, { action: 'partner.state' });
    assert.ok(
      audited.slice(0, 2).every((a) => a.target === 'northwind' && a.actor.startsWith('cli:')),
      JSON.stringify(audited.slice(0, 2)),
    );
    const refused = await cli(['state', 'nova-parts', 'onboarding']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /GW_PARTNER_STATE/);
  });

  it('ticks acknowledgments for an X12 partner once it has collected a 997 we sent', async () => {
    const acks = async () => item((await call('GET', '/partners/acme-supply')).body, 'acknowledgments');
    assert.equal((await acks())?.done, false);
    const sent = await post(s.url, ACME_KEY, 'application/edi-x12', withControl(SOI_856, 810001));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const outbound = async () => {
      const res = await fetch(`${s.url}/v1/outbound`, { headers: { authorization: `Bearer ${ACME_KEY}` } });
      return ((await res.json()) as { items: { id: string; type: string; relatedMessageId: string }[] }).items;
    };
    const items = await waitFor('the 997 in the mailbox', outbound, (list) => list.some((i) => i.relatedMessageId === sent.body.messageId), 30_000);
    const ack = items.find((i) => i.relatedMessageId === sent.body.messageId);
    assert.equal((await acks())?.done, false, 'waiting in the mailbox is not collected');
    const collected = await fetch(`${s.url}/v1/outbound/${ack?.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ACME_KEY}` } });
    assert.equal(collected.status, 204);
    assert.deepEqual(await acks(), { item: 'acknowledgments', done: true, detail: '1 functional acknowledgment(s) collected' });
  });
});
