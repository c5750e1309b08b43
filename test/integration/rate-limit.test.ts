import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/security/rate-limit.js';
import { connect } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { waitFor } from '../helpers/gateway.js';

describe('rate limiter (buckets in PostgreSQL)', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => db.drop());
  const t0 = 1_000_000;
  let n = 0;
  /** A key no other test has used. */
  const key = (name: string) => `${name}-${++n}`;

  it('allows the budget per minute, then answers with the seconds to wait, and refills', async () => {
    const r = new RateLimiter(db.knex);
    const [p, other] = [key('p'), key('other')];
    assert.deepEqual(await Promise.all([0, 1, 2].map(() => r.take(p, 3, t0))), [0, 0, 0]);
    assert.equal(await r.take(p, 3, t0), 20, 'one request per 20 s at 3 per minute');
    assert.equal(await r.peek(p, 3, t0), 20, 'peek answers the same wait');
    assert.equal(await r.take(other, 3, t0), 0, 'buckets are per key');
    assert.equal(await r.peek(p, 3, t0 + 20_000), 0, 'peek takes nothing');
    assert.equal(await r.take(p, 3, t0 + 20_000), 0);
  });

  it('applies a changed limit at once, keeping the share of the budget left', async () => {
    const r = new RateLimiter(db.knex);
    const [p, q] = [key('p'), key('q')];
    for (let i = 0; i < 5; i++) await r.take(p, 5, t0);
    assert.equal(await r.take(p, 5, t0), 12, 'spent at 5 per minute');
    assert.equal(await r.take(p, 600, t0), 1, 'raised to 600: still spent, but the next token comes in 0.1 s');
    for (let i = 0; i < 3; i++) await r.take(q, 4, t0);
    const waits = await Promise.all(Array.from({ length: 400 }, () => r.take(q, 400, t0)));
    assert.equal(waits.filter((w) => w === 0).length, 100, 'a quarter of the budget was left, so a quarter of the new one is');
  });

  it('two limiters on their own connections (two replicas) share one budget, even when they race', async () => {
    const other = connect(db.url, 4);
    try {
      const [a, b] = [new RateLimiter(db.knex), new RateLimiter(other)];
      const p = key('shared');
      const waits = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take(p, 25, t0)));
      assert.equal(waits.filter((w) => w === 0).length, 25, 'exactly the budget passes, whichever replica answers');
      assert.ok(
        waits.filter((w) => w > 0).every((w) => w >= 1 && w <= 3),
        `Retry-After is the time to the next token: ${waits}`,
      );
    } finally {
      await other.destroy();
    }
  });

  it('forgets buckets idle for a minute (they would be full again), and a forgotten key starts full', async () => {
    const r = new RateLimiter(db.knex);
    const [idle, busy] = [key('idle'), key('busy')];
    const later = t0 + 10 * 60_000;
    for (let i = 0; i < 2; i++) await r.take(idle, 2, later);
    assert.equal(await r.take(idle, 2, later), 30);
    await r.take(busy, 2, later + 61_000);
    await waitFor(
      'the idle bucket to be pruned',
      () => db.knex('rate_buckets').where({ key: idle }).count<{ n: string }[]>('* as n'),
      (rows) => Number(rows[0]?.n) === 0,
    );
    assert.equal(await r.take(idle, 2, later + 61_000), 0);
  });
});
