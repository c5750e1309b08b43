import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import ssh2 from 'ssh2';
import { hashPassword } from '../../src/security/ssh-keys.js';
import { addUser, checkNewUser } from '../../src/security/users.js';
import { connect } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { NORTHWIND_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { editPartner } from '../helpers/security.js';
import { allowSftp } from '../helpers/sftp.js';

/**
 * Both replicas have the same master key and run the SFTP door with the same host keys, as
 * docs/deploy.md asks (made once, by the first); three failed logins lock a name at an address.
 */
const hostKeysDir = mkdtempSync(path.join(tmpdir(), 'gw-scale-out-host-keys-'));
const ENV = {
  GATEWAY_MASTER_KEY: randomBytes(32).toString('base64'),
  // Behind a load balancer that appends the client's address; two token requests a minute per address.
  TRUST_PROXY: 'on',
  OAUTH_TOKEN_RATE_PER_MINUTE: '2',
  SFTP: 'on',
  SFTP_HOST_KEYS_DIR: hostKeysDir,
  SFTP_LOCKOUT_FAILURES: '3',
  SFTP_LOGIN_DELAY_MS: '10',
};

/**
 * Two replicas: two gateways on two loopback ports, each with its own connection pool, on one
 * database (docs/deploy.md). What one replica counts, the other refuses.
 */
describe('two replicas on one database', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let erp: ErpReceiver;
  let secondPool: Knex;
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    db = await freshDatabase();
    erp = new ErpReceiver();
    await erp.start();
    secondPool = connect(db.url, 4);
    a = await startTestGateway(db.knex, erp.url, ENV);
    b = await startTestGateway(secondPool, erp.url, ENV);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await secondPool?.destroy();
    await erp?.stop();
    await db?.drop();
    rmSync(hostKeysDir, { recursive: true, force: true });
  });

  const outbound = (t: TestGateway) => fetch(`${t.gw.url}/v1/outbound`, { headers: { authorization: `Bearer ${NORTHWIND_KEY}` } });

  it("share a partner's budget: N requests pass across both, the next on either is 429 with Retry-After", async () => {
    for (const t of [a, b])
      await editPartner(t.gw, t.partnersDir, 'northwind', (y) => `${y.replace(/^limits:.*\n/m, '')}limits: { maxBytes: 65536, requestsPerMinute: 4 }\n`);
    const passed = [];
    for (const t of [a, b, a, b]) passed.push((await outbound(t)).status);
    assert.deepEqual(passed, [200, 200, 200, 200], 'the budget of 4 a minute, two requests on each replica');
    for (const t of [a, b]) {
      const refused = await outbound(t);
      assert.equal(refused.status, 429, `replica ${t === a ? 'A' : 'B'} refuses the fifth request`);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'GW_RATE_LIMITED');
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 15, `Retry-After ${retryAfter}: the time to the next token at 4 a minute`);
    }
  });

  it('share the portal lockout: failures on replica A lock the username on replica B, right password or not', async () => {
    const password = 'a long enough password';
    await addUser(db.knex, checkNewUser(a.gw.config(), { username: 'opal', role: 'operations' }), password, new Date());
    const onA = new PortalClient(() => a.gw.url);
    for (let i = 0; i < 5; i++) assert.equal((await onA.attemptSignIn('opal', 'wrong password')).status, 401);
    const onB = new PortalClient(() => b.gw.url);
    const locked = await onB.attemptSignIn('opal', password);
    assert.equal(locked.status, 429, locked.text);
    assert.match(locked.text, /Too many failed sign-ins for this username or from this address/);
    assert.ok(Number(locked.headers.get('retry-after')) > 850, 'the rest of 15 minutes from the fifth failure');
    assert.ok(!locked.setCookies.some((c) => c.startsWith('gw_session=')), 'no session');
  });

  it('share the SFTP lockout: failed logins on replica A refuse the right password on replica B', async () => {
    const password = 'correct horse battery staple';
    const [key, hash] = [ssh2.utils.generateKeyPairSync('ed25519').public, await hashPassword(password)];
    for (const t of [a, b]) await allowSftp(t.gw, t.partnersDir, 'hansen-textil', [key], hash);
    const login = (t: TestGateway, pass: string) =>
      new Promise<boolean>((resolve) => {
        const c = new ssh2.Client();
        c.on('ready', () => (c.end(), resolve(true))).on('error', () => resolve(false));
        c.connect({ host: '127.0.0.1', port: t.gw.sftp!.port, username: 'hansen-textil', password: pass, hostVerifier: () => true, tryKeyboard: false });
      });
    assert.equal(await login(b, password), true, 'replica B lets the partner in');
    for (let i = 0; i < 3; i++) assert.equal(await login(a, 'wrong'), false);
    assert.equal(await login(b, password), false, 'replica B refuses the right password after the failures on A');
  });

  it("behind a load balancer (TRUST_PROXY), count token requests per client address across replicas, by the balancer's entry", async () => {
    const tokenRequest = (t: TestGateway, forwardedFor: string) =>
      fetch(`${t.gw.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
        body: 'grant_type=client_credentials',
      });
    for (const t of [a, b]) assert.notEqual((await tokenRequest(t, '203.0.113.1')).status, 429);
    const refused = await tokenRequest(a, '198.51.100.7, 203.0.113.1');
    assert.equal(refused.status, 429, "the third from 203.0.113.1 (the first entry is the client's own word, not believed)");
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.notEqual((await tokenRequest(b, '203.0.113.1, 203.0.113.2')).status, 429, 'another client address has its own budget');
  });
});
