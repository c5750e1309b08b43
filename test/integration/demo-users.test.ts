import assert from 'node:assert/strict';
import type { GatewayConfig } from '../../src/config/load.js';
import { addDemoUsers, DEMO_USERS } from '../../src/security/demo-users.js';
import { findUser, passwordMatches, setPassword } from '../../src/security/users.js';
import { repoConfig } from '../helpers/config.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

describe('demo portal users (gateway start --demo or --demo-users; npm start runs --demo)', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let config: GatewayConfig;
  before(async () => {
    db = await freshDatabase();
    config = await repoConfig();
  });
  after(() => db.drop());

  it('adds one user per role with the README password, each audited as added by the demo', async () => {
    assert.deepEqual(await addDemoUsers(db.knex, config), ['sue', 'nils', 'olga', 'pia', 'sid', 'ada']);
    for (const u of DEMO_USERS) {
      const found = await findUser(db.knex, u.username);
      assert.deepEqual([found?.role, found?.partnerId ?? undefined], [u.role, u.partnerId], u.username);
      assert.ok(await passwordMatches(found, u.password), `${u.username} signs in with the README's password`);
    }
    const audited = await db.knex('audit_log').where({ actor: 'system:demo', action: 'portal.user.add' }).pluck('target');
    assert.deepEqual(audited.sort(), DEMO_USERS.map((u) => `portal-user:${u.username}`).sort());
  });

  it('leaves existing users as they are on the next start: a changed password stays changed', async () => {
    await setPassword(db.knex, 'olga', 'olga chose her own password', new Date());
    assert.deepEqual(await addDemoUsers(db.knex, config), []);
    assert.ok(await passwordMatches(await findUser(db.knex, 'olga'), 'olga chose her own password'));
  });

  it('skips a demo supplier whose partner is not configured', async () => {
    const other = await freshDatabase();
    try {
      const partners = new Map([...config.partners].filter(([id]) => id !== 'northwind'));
      const added = await addDemoUsers(other.knex, { ...config, partners });
      assert.equal(added.includes('nils'), false);
      assert.equal(added.includes('sue'), true);
    } finally {
      await other.drop();
    }
  });
});
