import type { Knex } from 'knex';
import { type OpsStats, STATS_WINDOWS, type StatsBucket, type StatsWindow } from '../../src/pipeline/ops-stats.js';

type Row = { at: Date | null; partner_id: string | null } & Record<string, string | number | null>;

/**
 * The console's stats as they were aggregated before the hourly rollups: in one pass over the
 * window's messages and deliveries (decision 0031). Kept as the reference the rollups must equal,
 * and as the "before" of the stats bench. The queue depth is not part of it (read live either way).
 */
export async function opsStatsOnTheFly(knex: Knex, window: StatsWindow, partner?: string, now: Date = new Date()): Promise<OpsStats> {
  const { unit, buckets } = STATS_WINDOWS[window];
  const until = truncate(now, unit);
  const since = new Date(until.getTime() - (buckets - 1) * STEP_MS[unit]);
  const [counts, latency, queue] = await Promise.all([
    knex.raw(...countsQuery(unit, since, partner)),
    knex.raw(...latencyQuery(unit, since, partner)),
    [] as OpsStats['queue'],
  ]);
  const rows = [...counts.rows, ...latency.rows] as Row[];
  const byBucket = (at: Date) => rows.filter((r) => r.at?.getTime() === at.getTime());
  const series = Array.from({ length: buckets }, (_, i) => new Date(since.getTime() + i * STEP_MS[unit]));
  const partners = [...new Set(rows.filter((r) => r.at === null && r.partner_id !== null).map((r) => r.partner_id as string))].sort();
  return {
    window,
    unit,
    since: since.toISOString(),
    until: new Date(until.getTime() + STEP_MS[unit]).toISOString(),
    partner: partner ?? null,
    buckets: series.map((at) => ({ at: at.toISOString(), ...merge(byBucket(at)) })),
    partners: partners.map((p) => ({ partner: p, ...merge(rows.filter((r) => r.at === null && r.partner_id === p)) })),
    queue,
  };
}

const STEP_MS = { hour: 3_600_000, day: 86_400_000 } as const;

function truncate(d: Date, unit: 'hour' | 'day'): Date {
  const t = new Date(d);
  t.setUTCMinutes(0, 0, 0);
  if (unit === 'day') t.setUTCHours(0);
  return t;
}

/** One bucket's (or partner's) numbers from its count row and its latency row; zeros where none. */
function merge(rows: Row[]): Omit<StatsBucket, 'at'> {
  const pick = (k: string) => rows.find((r) => r[k] !== undefined)?.[k];
  const ms = (k: string) => (pick(k) == null ? null : Math.round(Number(pick(k))));
  return {
    received: Number(pick('received') ?? 0),
    rejected: Number(pick('rejected') ?? 0),
    delivered: Number(pick('delivered') ?? 0),
    p50Ms: ms('p50_ms'),
    p95Ms: ms('p95_ms'),
  };
}

type Sql = [string, Knex.RawBinding[]];

/** The bucket of a message's arrival, in UTC. */
const bucketOf = (unit: string) => `date_trunc('${unit}', m.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;

/** Inbound messages received in the window, and those of them rejected: per bucket, and per partner. */
function countsQuery(unit: string, since: Date, partner?: string): Sql {
  return [
    `SELECT ${bucketOf(unit)} AS at, m.partner_id, count(*)::int AS received, count(*) FILTER (WHERE m.state = 'rejected')::int AS rejected
       FROM messages m
      WHERE m.direction = 'inbound' AND m.received_at >= ? ${partner ? 'AND m.partner_id = ?' : ''}
      GROUP BY GROUPING SETS ((${bucketOf(unit)}), (m.partner_id))`,
    [since, ...(partner ? [partner] : [])],
  ];
}

/**
 * Received → delivered, per delivery of the window's inbound messages that reached its target
 * (an MDN we owe is an answer, not the message's delivery: left out). Percentiles per bucket of
 * arrival and per partner.
 */
function latencyQuery(unit: string, since: Date, partner?: string): Sql {
  return [
    `SELECT ${bucketOf(unit)} AS at, m.partner_id, count(*)::int AS delivered,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - m.received_at) * 1000) AS p50_ms,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - m.received_at) * 1000) AS p95_ms
       FROM messages m JOIN deliveries d ON d.message_id = m.id
      WHERE m.direction = 'inbound' AND m.received_at >= ? ${partner ? 'AND m.partner_id = ?' : ''}
        AND d.state = 'delivered' AND d.target_id NOT LIKE 'as2-mdn:%'
      GROUP BY GROUPING SETS ((${bucketOf(unit)}), (m.partner_id))`,
    [since, ...(partner ? [partner] : [])],
  ];
}

/**
 * Where two answers differ: counts exactly, percentiles beyond the histogram's precision (±9 %, or
 * 1 ms; 10 % and 1 ms here, for the rounding of both to whole milliseconds).
 */
export function differences(a: OpsStats, b: OpsStats): string[] {
  const close = (x: number | null, y: number | null) => (x === null ? y === null : y !== null && Math.abs(x - y) <= 0.1 * y + 1);
  const rows = [...a.buckets.map((x, i) => [x, b.buckets[i]] as const), ...a.partners.map((x, i) => [x, b.partners[i]] as const)];
  const out: string[] = [];
  for (const [x, y] of rows) {
    if (!y || x.received !== y.received || x.rejected !== y.rejected || x.delivered !== y.delivered || !close(x.p50Ms, y.p50Ms) || !close(x.p95Ms, y.p95Ms))
      out.push(`${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  }
  if (a.partners.length !== b.partners.length) out.push(`partners ${a.partners.length} vs ${b.partners.length}`);
  return out;
}
