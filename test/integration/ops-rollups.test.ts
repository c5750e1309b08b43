import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { percentileMs, ROLLUP_GRACE_HOURS, rolledUntil, rollUpHours } from '../../src/pipeline/ops-rollups.js';
import { opsStats, type StatsWindow } from '../../src/pipeline/ops-stats.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { differences, opsStatsOnTheFly } from '../helpers/ops-stats-reference.js';

const HOUR = 3_600_000;
/** The tests' clock: 25 minutes into an hour, so the open hour has traffic of its own. */
const NOW = new Date('2026-11-20T10:25:00Z');
const PARTNERS = ['acme-supply', 'globex', 'northwind'];

/**
 * Inbound messages every ~17 minutes over the last 35 days for three partners (some rejected, some
 * outbound ones that never count), each accepted one delivered after a latency from 3 ms to hours,
 * some twice, some to an MDN target (left out) and some still pending.
 */
async function traffic(knex: Knex): Promise<void> {
  await knex.raw('SELECT setseed(0.31)');
  await knex.raw(
    `INSERT INTO messages (id, partner_id, channel, direction, content_type, format, size_bytes, sha256, correlation_id, state, received_at, updated_at)
     SELECT gen_random_uuid(), (ARRAY['acme-supply', 'globex', 'northwind'])[1 + i % 3], 'rest',
            CASE WHEN i % 23 = 0 THEN 'outbound' ELSE 'inbound' END, 'application/json', 'json', 10, md5(i::text), md5(i::text),
            CASE WHEN i % 11 = 0 THEN 'rejected' ELSE 'delivered' END, t, t
       FROM generate_series(0, 2999) i, LATERAL (SELECT ?::timestamptz - i * interval '1009 seconds' AS t) x`,
    [NOW],
  );
  await knex.raw(
    `INSERT INTO deliveries (id, message_id, partner_id, target_id, target, idempotency_key, state, attempts, delivered_at)
     SELECT gen_random_uuid(), m.id, m.partner_id, d.target, '{}', m.id::text || d.target, d.state, 1,
            CASE WHEN d.state = 'delivered' THEN least(m.received_at + exp(1 + random() * 15) * interval '1 ms', ?::timestamptz) END
       FROM messages m,
            LATERAL (SELECT 'erp-http' AS target, CASE WHEN random() < 0.05 THEN 'pending' ELSE 'delivered' END AS state
                     UNION ALL SELECT 'erp-file', 'delivered' WHERE random() < 0.2
                     UNION ALL SELECT 'as2-mdn:' || m.partner_id, 'delivered' WHERE random() < 0.2) d
      WHERE m.state = 'delivered'`,
    [NOW],
  );
}

/** Runs the rollup step until it has caught up. */
async function catchUp(knex: Knex, now = NOW): Promise<void> {
  while (await rollUpHours(knex, now));
}

async function assertSameAsOnTheFly(knex: Knex, now = NOW): Promise<void> {
  for (const window of ['24h', '30d'] as StatsWindow[]) {
    for (const partner of [undefined, 'globex']) {
      const [rolled, reference] = await Promise.all([opsStats(knex, window, partner, now), opsStatsOnTheFly(knex, window, partner, now)]);
      assert.deepEqual(differences(rolled, reference), [], `${window} ${partner ?? 'all partners'}`);
      assert.ok(rolled.buckets.some((b) => b.delivered > 0));
    }
  }
}

const receivedInRollups = async (knex: Knex) => Number((await knex('message_hour_rollups').sum({ n: 'received' }))[0]?.n ?? 0);

describe('hourly rollups of the console stats (real PostgreSQL)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
    await traffic(db.knex);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('answers what the on-the-fly aggregation answers, from the messages alone before any rollup and from the rollups after', async () => {
    assert.equal(await rolledUntil(db.knex), null);
    await assertSameAsOnTheFly(db.knex);
    await catchUp(db.knex);
    assert.equal((await rolledUntil(db.knex))?.toISOString(), '2026-11-20T10:00:00.000Z');
    // 31 days of closed hours, three partners each: the 30-day window reads them, not the messages.
    const rows = Number((await db.knex('message_hour_rollups').count({ n: '*' }))[0]?.n);
    assert.ok(rows > 2000, String(rows));
    const days = Number((await db.knex('message_day_rollups').count({ n: '*' }))[0]?.n);
    assert.equal(days, 31 * PARTNERS.length, 'each day from the first hour kept to yesterday, per partner');
    await assertSameAsOnTheFly(db.knex);
    const partners = (await opsStats(db.knex, '30d', undefined, NOW)).partners.map((p) => p.partner);
    assert.deepEqual(partners, PARTNERS);
  });

  it('aggregates each hour once when two runs go at the same time', async () => {
    for (;;) {
      const runs = await Promise.all([rollUpHours(db.knex, NOW), rollUpHours(db.knex, NOW), rollUpHours(db.knex, NOW)]);
      if (runs.every((r) => r === 0)) break;
    }
    await Promise.all([rollUpHours(db.knex, NOW), rollUpHours(db.knex, NOW)]);
    const since = new Date(NOW.getTime() - 31 * 24 * HOUR);
    since.setUTCMinutes(0, 0, 0);
    const inbound = await db
      .knex('messages')
      .count({ n: '*' })
      .where('direction', 'inbound')
      .andWhere('received_at', '>=', since)
      .andWhere('received_at', '<', new Date('2026-11-20T10:00:00Z'));
    assert.equal(await receivedInRollups(db.knex), Number(inbound[0]?.n));
    await assertSameAsOnTheFly(db.knex);
  });

  it('moves a late delivery into the hour its message arrived, within the grace period', async () => {
    const arrived = new Date(NOW.getTime() - 5 * HOUR);
    const late = await db
      .knex('deliveries as d')
      .join('messages as m', 'm.id', 'd.message_id')
      .where('d.target_id', 'erp-http')
      .andWhere('m.received_at', '>=', new Date(arrived.getTime() - HOUR))
      .andWhere('m.received_at', '<', arrived)
      .first('d.id', 'm.received_at');
    assert.ok(late, 'a delivery of a message that arrived 5 to 6 hours ago');
    await db.knex('deliveries').where('id', late.id).update({ state: 'pending', delivered_at: null });
    await catchUp(db.knex);
    const hour = new Date(late.received_at);
    hour.setUTCMinutes(0, 0, 0);
    const deliveredIn = async (now: Date) => (await opsStats(db.knex, '24h', undefined, now)).buckets.find((b) => b.at === hour.toISOString())?.delivered;
    const before = await deliveredIn(NOW);
    const later = new Date(NOW.getTime() + 10 * 60_000);
    await db.knex('deliveries').where('id', late.id).update({ state: 'delivered', delivered_at: later });
    // Until the next run the rollup still has the hour as it was; the run recomputes it.
    assert.equal(await deliveredIn(later), before);
    await rollUpHours(db.knex, later);
    assert.equal(await deliveredIn(later), (before ?? 0) + 1);
    await assertSameAsOnTheFly(db.knex, later);
  });

  it('leaves an hour older than the grace period as it was rolled up', async () => {
    await catchUp(db.knex);
    const old = await db
      .knex('deliveries as d')
      .join('messages as m', 'm.id', 'd.message_id')
      .where('d.state', 'pending')
      .andWhere('m.received_at', '<', new Date(NOW.getTime() - (ROLLUP_GRACE_HOURS + 2) * HOUR))
      .first('d.id');
    await db.knex('deliveries').where('id', old.id).update({ state: 'delivered', delivered_at: NOW });
    const later = new Date(NOW.getTime() + 10 * 60_000);
    await rollUpHours(db.knex, later);
    const [rolled, reference] = await Promise.all([opsStats(db.knex, '30d', undefined, later), opsStatsOnTheFly(db.knex, '30d', undefined, later)]);
    const sum = (s: typeof rolled) => s.buckets.reduce((n, b) => n + b.delivered, 0);
    assert.equal(sum(reference) - sum(rolled), 1);
  });

  it('reads percentiles from a histogram as percentile_cont places them, within its precision', () => {
    const histogram = new Array(145).fill(0);
    assert.equal(percentileMs(histogram, 0.5), null);
    histogram[41] = 3; // [1024, 1218) ms
    histogram[45] = 1; // [2048, 2435) ms
    assert.ok(Math.abs((percentileMs(histogram, 0.5) as number) - 1117) < 1);
    // percentile_cont(0.95) of 4 values: 85 % of the way from the third to the fourth.
    const p95 = percentileMs(histogram, 0.95) as number;
    assert.ok(Math.abs(p95 - (1117 + 0.85 * (2233 - 1117))) < 2, String(p95));
  });
});
