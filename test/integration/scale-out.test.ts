import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { addUser, checkNewUser } from '../../src/security/users.js';
import { connect } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { NORTHWIND_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { editPartner } from '../helpers/security.js';

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
    [a, b] = await Promise.all([startTestGateway(db.knex, erp.url), startTestGateway(secondPool, erp.url)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await secondPool?.destroy();
    await erp?.stop();
    await db?.drop();
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
});
