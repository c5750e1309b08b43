import type { Knex } from 'knex';

/**
 * Hourly rollups of inbound traffic (decision 0031): per UTC hour of a message's arrival and per
 * partner, received, rejected, delivered, and a histogram of the delivery latencies. Closed hours
 * are written by a periodic step (`rollUpHours`); the console's stats read them and aggregate only
 * the hours not rolled up yet from the messages, so a 30-day chart reads at most 720 rows per partner.
 */

/**
 * Latency buckets, four per doubling: bucket 0 is under 1 ms, bucket i ≥ 1 holds [2^((i-1)/4), 2^(i/4))
 * ms, the last one everything from 2^36 ms (about 2 years) on. A bucket is reported as its geometric
 * middle, so a percentile is within a factor 2^(1/8) (±9 %) of the exact one, or 1 ms below 1 ms.
 */
export const LATENCY_BUCKETS = 145;
const PER_DOUBLING = 4;

/** The SQL of a latency's bucket, from its milliseconds (a double). */
const bucketSql = (ms: string) => `CASE WHEN ${ms} < 1 THEN 0 ELSE least(1 + floor(${PER_DOUBLING} * ln(${ms}) / ln(2)), ${LATENCY_BUCKETS - 1}) END::smallint`;

/** The middle of a bucket, in ms. */
export const bucketMiddleMs = (bucket: number) => (bucket === 0 ? 0.5 : 2 ** ((bucket - 0.5) / PER_DOUBLING));

/** The hour of a message's arrival, in UTC. */
const HOUR_OF_ARRIVAL = `date_trunc('hour', m.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;

/**
 * The hour rows of the inbound messages received in [from, until) (no end when `until` is absent):
 * counts of the messages as they are now, and the latency (received → delivered) of each delivered
 * delivery of them (an MDN we owe is an answer, not the message's delivery: left out), counted in
 * the hour the message arrived.
 */
export function hourRowsSql(from: Date, until?: Date, partner?: string): [string, Knex.RawBinding[]] {
  const where = `m.direction = 'inbound' AND m.received_at >= ? ${until ? 'AND m.received_at < ?' : ''} ${partner ? 'AND m.partner_id = ?' : ''}`;
  const bindings = [from, ...(until ? [until] : []), ...(partner ? [partner] : [])];
  const latencyMs = `extract(epoch FROM d.delivered_at - m.received_at)::float8 * 1000`;
  return [
    `WITH counts AS (
       SELECT ${HOUR_OF_ARRIVAL} AS hour, m.partner_id, count(*)::int AS received, count(*) FILTER (WHERE m.state = 'rejected')::int AS rejected
         FROM messages m WHERE ${where} GROUP BY 1, 2
     ), latencies AS (
       SELECT ${HOUR_OF_ARRIVAL} AS hour, m.partner_id, ${bucketSql(latencyMs)} AS bucket, count(*)::int AS n
         FROM messages m JOIN deliveries d ON d.message_id = m.id
        WHERE ${where} AND d.state = 'delivered' AND d.target_id NOT LIKE 'as2-mdn:%'
        GROUP BY 1, 2, 3
     ), histograms AS (
       SELECT hour, partner_id, sum(n)::int AS delivered, array_agg(bucket ORDER BY bucket) AS latency_buckets, array_agg(n ORDER BY bucket) AS latency_counts
         FROM latencies GROUP BY 1, 2
     )
     SELECT c.hour, c.partner_id, c.received, c.rejected, coalesce(h.delivered, 0) AS delivered,
            coalesce(h.latency_buckets, '{}') AS latency_buckets, coalesce(h.latency_counts, '{}') AS latency_counts
       FROM counts c LEFT JOIN histograms h USING (hour, partner_id)`,
    [...bindings, ...bindings],
  ];
}

/** Hours kept rolled up: the longest stats window (30 days) and the partial day before it. */
export const ROLLUP_KEEP_HOURS = 31 * 24;
/** Closed hours recomputed on every run, so later rejections and deliveries reach their hour. */
export const ROLLUP_GRACE_HOURS = 24;
/** Hours one run may write: a gateway that was down catches up one day per run. */
const CHUNK_HOURS = ROLLUP_GRACE_HOURS + 24;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** pg_advisory lock key of the rollup step ("rollups" in ASCII): one process at a time. */
const ROLLUP_LOCK = 0x726f6c6c7570;

/** The first hour not in the rollups (null before the first run). */
export async function rolledUntil(knex: Knex): Promise<Date | null> {
  const row = await knex('message_rollup_progress').first('rolled_until');
  return row?.rolled_until ?? null;
}

/**
 * One run of the rollup step: recomputes whole the closed hours from the watermark less the grace
 * period (at most `CHUNK_HOURS` of them) and moves the watermark to the last of them. Whole rows are
 * replaced, never added to, and one process runs at a time (a transaction-scoped advisory lock; the
 * others skip the run): an hour is never counted twice. Returns 1 while behind (run again at once).
 */
export async function rollUpHours(knex: Knex, now: Date = new Date(), graceHours = ROLLUP_GRACE_HOURS): Promise<number> {
  const closed = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return knex.transaction(async (trx) => {
    const lock = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS got', [ROLLUP_LOCK]);
    if (!lock.rows[0].got) return 0;
    const watermark = (await rolledUntil(trx))?.getTime() ?? 0;
    const from = new Date(Math.max(watermark - graceHours * HOUR_MS, closed - ROLLUP_KEEP_HOURS * HOUR_MS));
    const until = new Date(Math.min(from.getTime() + CHUNK_HOURS * HOUR_MS, closed));
    if (until <= from) return 0;
    await trx('message_hour_rollups').where('hour', '>=', from).andWhere('hour', '<', until).del();
    const [sql, bindings] = hourRowsSql(from, until);
    await trx.raw(
      `INSERT INTO message_hour_rollups (hour, partner_id, received, rejected, delivered, latency_buckets, latency_counts) ${sql}
       ON CONFLICT (hour, partner_id) DO UPDATE SET received = excluded.received, rejected = excluded.rejected, delivered = excluded.delivered,
         latency_buckets = excluded.latency_buckets, latency_counts = excluded.latency_counts, computed_at = now()`,
      bindings,
    );
    await rollUpDays(trx, from, until);
    await trx.raw(
      `INSERT INTO message_rollup_progress (id, rolled_until) VALUES (true, ?)
       ON CONFLICT (id) DO UPDATE SET rolled_until = greatest(message_rollup_progress.rolled_until, excluded.rolled_until)`,
      [until],
    );
    await forgetOldRollups(trx, new Date(closed - ROLLUP_KEEP_HOURS * HOUR_MS));
    return until.getTime() < closed ? 1 : 0;
  });
}

/** Rollups older than any stats window reads (the day of `firstKept` is left whole). */
async function forgetOldRollups(trx: Knex.Transaction, firstKept: Date): Promise<void> {
  await trx('message_hour_rollups').where('hour', '<', firstKept).del();
  await trx('message_day_rollups')
    .where('day', '<', new Date(Math.floor(firstKept.getTime() / DAY_MS) * DAY_MS))
    .del();
}

/**
 * Recomputes whole the UTC days that the hours [from, until) touch and that end by `until`, from
 * their hourly rows (a day's rows are complete once its last hour is rolled up).
 */
async function rollUpDays(trx: Knex.Transaction, from: Date, until: Date): Promise<void> {
  const first = new Date(Math.floor(from.getTime() / DAY_MS) * DAY_MS);
  const end = new Date(Math.floor(until.getTime() / DAY_MS) * DAY_MS);
  if (end <= first) return;
  await trx('message_day_rollups').where('day', '>=', first).andWhere('day', '<', end).del();
  const day = `date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  await trx.raw(
    `WITH hours AS (SELECT * FROM message_hour_rollups WHERE hour >= ? AND hour < ?),
     counts AS (
       SELECT ${day} AS day, partner_id, sum(received)::int AS received, sum(rejected)::int AS rejected, sum(delivered)::int AS delivered
         FROM hours GROUP BY 1, 2
     ), buckets AS (
       SELECT ${day} AS day, partner_id, b.bucket, sum(b.n)::int AS n
         FROM hours, unnest(latency_buckets, latency_counts) AS b(bucket, n) GROUP BY 1, 2, 3
     ), histograms AS (
       SELECT day, partner_id, array_agg(bucket ORDER BY bucket) AS latency_buckets, array_agg(n ORDER BY bucket) AS latency_counts
         FROM buckets GROUP BY 1, 2
     )
     INSERT INTO message_day_rollups (day, partner_id, received, rejected, delivered, latency_buckets, latency_counts)
     SELECT c.day, c.partner_id, c.received, c.rejected, c.delivered, coalesce(h.latency_buckets, '{}'), coalesce(h.latency_counts, '{}')
       FROM counts c LEFT JOIN histograms h USING (day, partner_id)`,
    [first, end],
  );
}

/**
 * The `p` percentile of a histogram as PostgreSQL's `percentile_cont` places it (between the values
 * of ranks ⌊p(n−1)⌋ and ⌈p(n−1)⌉, linearly), each value read as its bucket's middle; null when empty.
 */
export function percentileMs(histogram: ArrayLike<number>, p: number): number | null {
  let n = 0;
  for (let i = 0; i < histogram.length; i++) n += histogram[i] as number;
  if (n === 0) return null;
  const position = p * (n - 1);
  const below = valueAtRank(histogram, Math.floor(position));
  const above = valueAtRank(histogram, Math.ceil(position));
  return below + (position - Math.floor(position)) * (above - below);
}

/** The middle of the bucket holding the value of 0-based rank `rank`. */
function valueAtRank(histogram: ArrayLike<number>, rank: number): number {
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] as number;
    if (seen > rank) return bucketMiddleMs(i);
  }
  return bucketMiddleMs(histogram.length - 1);
}
