import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createLogger } from '../../src/observability/logger.js';
import { replayMessage } from '../../src/pipeline/replay.js';
import { Receiver } from '../../src/pipeline/receive.js';
import { CredentialStore } from '../../src/security/credentials.js';
import { connect } from '../../src/store/db.js';
import { notify, type Signal, SignalListener, SignalSender } from '../../src/store/signals.js';
import { REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { gatewaySuite, waitFor } from '../helpers/gateway.js';

const log = createLogger('silent');
const LISTENER = 'partner-gateway (listen)';
const sample = (name: string) => readFileSync(path.join(REPO, 'mappings/northwind/samples', name));

/** Kills the listening connections of the database, as a failover or an administrator would. */
async function killListeners(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: unknown[] }>(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()',
    [LISTENER],
  );
  return rows.length;
}

/** Opens `n` connections in `knex`'s pool (they stay while idle for 30 s). */
async function warm(knex: Knex, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => knex.raw('SELECT pg_sleep(0.05)')));
}

async function listeners(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()', [
    LISTENER,
  ]);
  return rows.length;
}

describe('database signals (LISTEN/NOTIFY): a notification arrives once its transaction commits, and the listener reconnects', () => {
  let db: TestDatabase;
  let listener: SignalListener;
  const heard: Signal[] = [];
  const listening: boolean[] = [];

  before(async () => {
    db = await freshDatabase();
    listener = SignalListener.forKnex(
      db.knex,
      {
        on: { messages: () => heard.push('messages'), deliveries: () => heard.push('deliveries'), credentials: () => heard.push('credentials') },
        onListening: (l) => listening.push(l),
      },
      log,
    );
    await listener.start();
  });
  after(async () => {
    await listener.stop();
    await db.drop();
  });

  it('hears a committed notification, never a rolled-back one', async () => {
    heard.length = 0;
    await db.knex
      .transaction(async (trx) => {
        await notify(trx, 'messages');
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await db.knex.transaction((trx) => notify(trx, 'deliveries'));
    // Notifications arrive in commit order: once the later one is here, the rolled-back one would have been too.
    await waitFor(
      'the committed notification',
      async () => [...heard],
      (h) => h.includes('deliveries'),
    );
    assert.deepEqual(heard, ['deliveries']);
  });

  it('says when its connection is lost, listens again, and hears what is sent after', async () => {
    assert.equal(listener.listening, true);
    listening.length = 0;
    assert.equal(await killListeners(db.knex), 1);
    await waitFor(
      'the listener to notice',
      async () => [...listening],
      (l) => l.includes(false),
    );
    await waitFor(
      'the listener to listen again',
      async () => listener.listening,
      (l) => l,
    );
    assert.deepEqual(listening, [false, true]);
    heard.length = 0;
    const sender = new SignalSender(db.knex, log);
    sender.ring('credentials');
    sender.ring('credentials');
    await waitFor(
      'the notification after the reconnect',
      async () => [...heard],
      (h) => h.includes('credentials'),
    );
  });
});

describe('a gateway caches API key verifications only while it hears every credential change', () => {
  const s = gatewaySuite();
  let other: Knex;
  let otherStore: CredentialStore;

  before(() => {
    // Another gateway process or the CLI: its own connections to the same database.
    other = connect(s.db.url, 2);
    otherStore = new CredentialStore(other, s.t.gw.security.keys, s.t.gw.config);
  });
  after(() => other.destroy());

  const outbound = async (key: string) => (await fetch(`${s.url}/v1/outbound`, { headers: { authorization: `Bearer ${key}` } })).status;
  /**
   * Uses the key until its verification is cached. The notification of its issue may reach this
   * gateway while the first request is being verified; that answer is then (rightly) not kept.
   */
  const cachedAfterUse = (key: string) =>
    waitFor(
      'the verification to be cached while notifications flow',
      async () => {
        assert.equal(await outbound(key), 200);
        return s.t.gw.security.store.verified.size;
      },
      (n) => n >= 1,
    );

  it('a key revoked by another process is refused by this one at once, its cached verification dropped by the notification', async () => {
    const { verified } = s.t.gw.security.store;
    const issued = await otherStore.issue({ kind: 'api-key', partnerId: 'hansen-textil', scopes: ['po:read'] }, { actor: 'test', source: 'test' });
    const key = issued.secret as string;
    await cachedAfterUse(key);
    await otherStore.revoke('api-key', issued.credential.ref, { actor: 'test', source: 'test' });
    // Nothing on this gateway asks the database: only the notification can empty the cache.
    await waitFor(
      'the notification to empty the cache',
      async () => verified.size,
      (n) => n === 0,
    );
    assert.equal(await outbound(key), 401);
  });

  it('while its notification connection is down it keeps nothing, so a revocation it cannot hear still applies', async () => {
    const { verified } = s.t.gw.security.store;
    const issued = await otherStore.issue({ kind: 'api-key', partnerId: 'hansen-textil', scopes: ['po:read'] }, { actor: 'test', source: 'test' });
    const key = issued.secret as string;
    await cachedAfterUse(key);
    // Silence this gateway's listener and hold it down: no new connection to the database is let in
    // (the connections already open, the gateway's pool and the other process's, stay).
    const database = new URL(s.db.url).pathname.slice(1);
    const adminUrl = new URL(s.db.url);
    adminUrl.pathname = '/postgres';
    const admin = connect(adminUrl.toString(), 1);
    // Every connection the gateway's pool (the suite's knex) and the other process may need is
    // opened first: while new ones are refused, a request must not fail for want of one.
    await warm(s.db.knex, 10);
    await warm(other, 2);
    await admin.raw(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    try {
      await killListeners(s.db.knex);
      await waitFor(
        'the cache to be dropped',
        async () => verified.size,
        (n) => n === 0,
      );
      await otherStore.revoke('api-key', issued.credential.ref, { actor: 'test', source: 'test' });
      assert.equal(await outbound(key), 401);
      assert.equal(await listeners(s.db.knex), 0, 'the revocation was not heard: the listener was down all along');
    } finally {
      await admin.raw(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await admin.destroy();
    }
    await waitFor(
      'the listener to be back',
      () => listeners(s.db.knex),
      (n) => n === 1,
    );
  });
});

describe('work stored by another process wakes this gateway at once, not at its next poll', () => {
  // The gateway polls only every ten minutes: what happens within the test is the notifications' doing.
  const s = gatewaySuite({ env: { POLL_MS: '600000' } });

  it('a message stored by another replica is interpreted and delivered; a replayed dead delivery is sent again', async () => {
    const otherKnex = connect(s.db.url, 2);
    try {
      const signals = new SignalSender(otherKnex, log);
      const receiver = new Receiver(otherKnex, { maxBatch: 1, maxWaitMs: 0, onCommitted: () => signals.ring('messages') });
      s.erp.respond = (_req, nth) => (nth === 1 ? 400 : 202);
      const { messageId } = await receiver.receive({
        partnerId: 'northwind',
        channel: 'rest',
        contentType: 'application/json',
        format: 'json',
        bytes: sample('asn.json'),
        scopes: ['asn:write'],
      });
      const state = async () => (await s.db.knex('messages').first('state').where('id', messageId))?.state as string;
      // The ERP refuses the first POST (400): the delivery is dead at once, the message with it.
      await waitFor('the message to be interpreted and its delivery to die', state, (st) => st === 'dead', 20_000);
      assert.equal(s.erp.requests.length, 1);
      const replay = await replayMessage(otherKnex, messageId);
      assert.equal(replay.action, 'redeliver');
      await waitFor('the replayed delivery', state, (st) => st === 'delivered', 20_000);
      assert.equal(s.erp.requests.length, 2);
      assert.equal(s.erp.requests[1]?.headers['idempotency-key'], s.erp.requests[0]?.headers['idempotency-key']);
    } finally {
      await otherKnex.destroy();
    }
  });
});
