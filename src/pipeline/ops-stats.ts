import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import { hourRowsSql, LATENCY_BUCKETS, percentileMs, rolledUntil } from './ops-rollups.js';

/**
 * The console's charts (decision 0031): inbound volume, rejections and delivery latency per time
 * bucket and per partner, and the outbox's depth per target. Closed hours come from the hourly
 * rollups (ops-rollups.ts), the rest is aggregated in PostgreSQL from the messages; never by
 * loading the messages' rows.
 */

/** Last 24 hours by hour, or last 30 days by day (UTC). */
export type StatsWindow = '24h' | '30d';
export const STATS_WINDOWS: Record<StatsWindow, { unit: 'hour' | 'day'; buckets: number }> = {
  '24h': { unit: 'hour', buckets: 24 },
  '30d': { unit: 'day', buckets: 30 },
};

/** The window an operator asked for (`24h` when none); anything else is refused. */
export function statsWindow(asked: string | undefined): StatsWindow {
  const w = asked || '24h';
  if (!(w in STATS_WINDOWS)) throw new GatewayError('GW_REQUEST_INVALID', `window is one of ${Object.keys(STATS_WINDOWS).join(', ')}; got "${w}".`);
  return w as StatsWindow;
}

export interface StatsBucket {
  at: string;
  received: number;
  rejected: number;
  delivered: number;
  p50Ms: number | null;
  p95Ms: number | null;
}
export type PartnerStats = Omit<StatsBucket, 'at'> & { partner: string };
export interface QueueDepth {
  target: string;
  pending: number;
  waiting: number;
  oldestDueAt: string | null;
}

export interface OpsStats {
  window: StatsWindow;
  unit: 'hour' | 'day';
  since: string;
  until: string;
  partner: string | null;
  buckets: StatsBucket[];
  partners: PartnerStats[];
  queue: QueueDepth[];
}

export async function opsStats(knex: Knex, window: StatsWindow, partner?: string, now: Date = new Date()): Promise<OpsStats> {
  const { unit, buckets } = STATS_WINDOWS[window];
  const until = truncate(now, unit);
  const since = new Date(until.getTime() - (buckets - 1) * STEP_MS[unit]);
  const split = await splitWindow(knex, unit, since, now);
  const [sums, queue] = await Promise.all([knex.raw(...windowSums(unit, since, split, partner)), queueDepth(knex)]);
  const series = new Map(Array.from({ length: buckets }, (_, i) => [since.getTime() + i * STEP_MS[unit], new Tally()]));
  const partners = new Map<string, Tally>();
  for (const r of sums.rows as SumRow[]) {
    if (r.at) series.get(r.at.getTime())?.add(r);
    else partners.set(r.partner_id as string, (partners.get(r.partner_id as string) ?? new Tally()).add(r));
  }
  return {
    window,
    unit,
    since: since.toISOString(),
    until: new Date(until.getTime() + STEP_MS[unit]).toISOString(),
    partner: partner ?? null,
    buckets: [...series].map(([at, t]) => ({ at: new Date(at).toISOString(), ...t.numbers() })),
    partners: [...partners.keys()].sort().map((p) => ({ partner: p, ...(partners.get(p) as Tally).numbers() })),
    queue,
  };
}

/**
 * Where the window's three sources meet: before `days`, whole days from the day rollups (the
 * 30-day window only); before `hours`, the hourly rollups; from `hours` on, the messages.
 */
interface Split {
  days: Date;
  hours: Date;
}

async function splitWindow(knex: Knex, unit: 'hour' | 'day', since: Date, now: Date): Promise<Split> {
  const watermark = (await rolledUntil(knex))?.getTime() ?? 0;
  const hours = Math.max(since.getTime(), Math.min(watermark, truncate(now, 'hour').getTime()));
  const days = unit === 'day' ? Math.max(since.getTime(), truncate(new Date(hours), 'day').getTime()) : since.getTime();
  return { days: new Date(days), hours: new Date(hours) };
}

/** A row of `windowSums`: the counts of a bucket or partner (bucket null), or one latency bucket's count. */
interface SumRow {
  at: Date | null;
  partner_id: string | null;
  received: number | null;
  rejected: number | null;
  delivered: number | null;
  bucket: number | null;
  n: number | null;
}

/**
 * The window's sums per time bucket and per partner: whole days and hours before the split from
 * the rollups, the others (the open hour, and a closed one the rollup step has not reached yet)
 * from the messages.
 * The histograms are summed in PostgreSQL too, so the answer is a few rows per bucket and partner.
 */
function windowSums(unit: 'hour' | 'day', since: Date, split: Split, partner?: string): [string, Knex.RawBinding[]] {
  const [live, liveBindings] = hourRowsSql(split.hours, undefined, partner);
  const at = `date_trunc('${unit}', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  const ofPartner = partner ? 'AND partner_id = ?' : '';
  const columns = 'partner_id, received, rejected, delivered, latency_buckets, latency_counts';
  return [
    `WITH hours AS (
       SELECT day AS hour, ${columns} FROM message_day_rollups WHERE day >= ? AND day < ? ${ofPartner}
       UNION ALL
       SELECT hour, ${columns} FROM message_hour_rollups WHERE hour >= ? AND hour < ? ${ofPartner}
       UNION ALL (${live})
     )
     SELECT ${at} AS at, partner_id, sum(received)::int AS received, sum(rejected)::int AS rejected, sum(delivered)::int AS delivered,
            NULL::int AS bucket, NULL::int AS n
       FROM hours GROUP BY GROUPING SETS ((${at}), (partner_id))
     UNION ALL
     SELECT ${at}, partner_id, NULL, NULL, NULL, b.bucket, sum(b.n)::int
       FROM hours, unnest(latency_buckets, latency_counts) AS b(bucket, n)
      GROUP BY GROUPING SETS ((${at}, b.bucket), (partner_id, b.bucket))`,
    [since, split.days, ...(partner ? [partner] : []), split.days, split.hours, ...(partner ? [partner] : []), ...liveBindings],
  ];
}

const STEP_MS = { hour: 3_600_000, day: 86_400_000 } as const;

function truncate(d: Date, unit: 'hour' | 'day'): Date {
  const t = new Date(d);
  t.setUTCMinutes(0, 0, 0);
  if (unit === 'day') t.setUTCHours(0);
  return t;
}

/** The numbers of a time bucket or partner: its counts, and the latency histogram the percentiles are read from. */
class Tally {
  private counts = { received: 0, rejected: 0, delivered: 0 };
  private readonly histogram = new Float64Array(LATENCY_BUCKETS);

  add(r: SumRow): this {
    if (r.bucket === null) this.counts = { received: r.received ?? 0, rejected: r.rejected ?? 0, delivered: r.delivered ?? 0 };
    else this.histogram[r.bucket] = r.n ?? 0;
    return this;
  }

  numbers(): Omit<StatsBucket, 'at'> {
    const ms = (p: number) => {
      const v = percentileMs(this.histogram, p);
      return v === null ? null : Math.round(v);
    };
    return { ...this.counts, p50Ms: ms(0.5), p95Ms: ms(0.95) };
  }
}

/** The outbox now: rows waiting for a worker (pending) and for an answer (waiting), per target. */
async function queueDepth(knex: Knex): Promise<QueueDepth[]> {
  // One branch per state, each read through that state's partial index (an IN list would scan the outbox).
  const rows = await knex.raw(`
    SELECT target_id, count(*) FILTER (WHERE state = 'pending')::int AS pending, count(*) FILTER (WHERE state = 'waiting')::int AS waiting,
           min(next_attempt_at) FILTER (WHERE state = 'pending') AS oldest_due_at
      FROM (SELECT target_id, state, next_attempt_at FROM deliveries WHERE state = 'pending'
            UNION ALL SELECT target_id, state, next_attempt_at FROM deliveries WHERE state = 'waiting') q
     GROUP BY target_id ORDER BY target_id`);
  return (rows.rows as { target_id: string; pending: number; waiting: number; oldest_due_at: Date | null }[]).map((r) => ({
    target: r.target_id,
    pending: r.pending,
    waiting: r.waiting,
    oldestDueAt: r.oldest_due_at?.toISOString() ?? null,
  }));
}

/** The plan of the aggregation from the messages (the hours not rolled up), for tests and operators (`EXPLAIN`). */
export async function explainStats(knex: Knex, window: StatsWindow): Promise<string[]> {
  const { unit, buckets } = STATS_WINDOWS[window];
  const [sql, bindings] = hourRowsSql(new Date(Date.now() - buckets * STEP_MS[unit]));
  const r = await knex.raw(`EXPLAIN ${sql}`, bindings);
  return [r.rows.map((x: { 'QUERY PLAN': string }) => x['QUERY PLAN']).join('\n')];
}
