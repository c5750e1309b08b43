import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';

/**
 * The console's charts (decision 0031): inbound volume, rejections and delivery latency per time
 * bucket and per partner, and the outbox's depth per target. Aggregated in PostgreSQL (one pass
 * over the window's messages with GROUPING SETS), never by loading rows.
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

type Row = { at: Date | null; partner_id: string | null } & Record<string, string | number | null>;

export async function opsStats(knex: Knex, window: StatsWindow, partner?: string, now: Date = new Date()): Promise<OpsStats> {
  const { unit, buckets } = STATS_WINDOWS[window];
  const until = truncate(now, unit);
  const since = new Date(until.getTime() - (buckets - 1) * STEP_MS[unit]);
  const [counts, latency, queue] = await Promise.all([
    knex.raw(...countsQuery(unit, since, partner)),
    knex.raw(...latencyQuery(unit, since, partner)),
    queueDepth(knex),
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

/** The outbox now: rows waiting for a worker (pending) and for an answer (waiting), per target. */
async function queueDepth(knex: Knex): Promise<QueueDepth[]> {
  const rows = await knex('deliveries')
    .select('target_id')
    .select(knex.raw(`count(*) FILTER (WHERE state = 'pending')::int AS pending`))
    .select(knex.raw(`count(*) FILTER (WHERE state = 'waiting')::int AS waiting`))
    .select(knex.raw(`min(next_attempt_at) FILTER (WHERE state = 'pending') AS oldest_due_at`))
    .whereIn('state', ['pending', 'waiting'])
    .groupBy('target_id')
    .orderBy('target_id');
  return rows.map((r) => ({ target: r.target_id, pending: r.pending, waiting: r.waiting, oldestDueAt: r.oldest_due_at?.toISOString() ?? null }));
}

/** The plans of the two aggregations, for tests and operators (`EXPLAIN`). */
export async function explainStats(knex: Knex, window: StatsWindow): Promise<string[]> {
  const { unit, buckets } = STATS_WINDOWS[window];
  const since = new Date(Date.now() - buckets * STEP_MS[unit]);
  const plans = [];
  for (const [sql, bindings] of [countsQuery(unit, since), latencyQuery(unit, since)]) {
    const r = await knex.raw(`EXPLAIN ${sql}`, bindings);
    plans.push(r.rows.map((x: { 'QUERY PLAN': string }) => x['QUERY PLAN']).join('\n'));
  }
  return plans;
}
