import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Credential } from '../security/credentials.js';
import type { GatewayMetrics, GaugeValue } from './metrics.js';

/** Runs `read` once per scrape: the gauges of one query share its answer, and the next scrape reads afresh. */
function perScrape<T>(metrics: GatewayMetrics, read: () => Promise<T>): () => Promise<T> {
  let last: { scrape: number; value: Promise<T> } | undefined;
  return () => {
    if (last?.scrape !== metrics.scrapes) last = { scrape: metrics.scrapes, value: read() };
    return last.value;
  };
}

interface QueueRow {
  target_id: string;
  kind: string;
  state: string;
  n: number;
  /** Seconds since the oldest due row of the group was due (0 when none is due). */
  oldest: number;
}

/**
 * The outbox as it stands: rows not settled, by target, kind and state. The partial indexes on
 * `deliveries` by state (due, waiting, leased) hold exactly these rows, so the count costs what the
 * backlog is, not what the table holds.
 */
function readQueue(knex: Knex): Promise<QueueRow[]> {
  return knex
    .raw<{ rows: QueueRow[] }>(
      // One branch per state, so that each reads its own partial index (an IN list would scan the table).
      `SELECT target_id, target->>'kind' AS kind, state, count(*)::int AS n,
              coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE state <> 'delivering' AND next_attempt_at <= now())), 0)::float8 AS oldest
         FROM (SELECT target_id, target, state, next_attempt_at FROM deliveries WHERE state = 'pending'
               UNION ALL SELECT target_id, target, state, next_attempt_at FROM deliveries WHERE state = 'waiting'
               UNION ALL SELECT target_id, target, state, next_attempt_at FROM deliveries WHERE state = 'delivering') d
        GROUP BY target_id, target->>'kind', state`,
    )
    .then((r) => r.rows);
}

/** Sums values that share their labels (partners outside the configured set all become `other`). */
function summed(values: readonly GaugeValue[]): GaugeValue[] {
  const by = new Map<string, GaugeValue>();
  for (const v of values) {
    const key = JSON.stringify(v.labels ?? {});
    const seen = by.get(key);
    if (seen) seen.value += v.value;
    else by.set(key, { ...v });
  }
  return [...by.values()];
}

/**
 * The gauges the database knows, read when Prometheus scrapes (never on the hot path): the outbox
 * queue and the age of its oldest due delivery, messages waiting for interpretation, overdue
 * acknowledgments, open tolerance exceptions and the AS2 MDNs pending.
 */
export function registerStoreGauges(metrics: GatewayMetrics, knex: Knex, log: Logger): void {
  const onError = (name: string, err: Error) => log.warn({ metric: name, err: err.message }, 'metrics: cannot read the gauge now');
  const queue = perScrape(metrics, () => readQueue(knex));
  metrics.gauge(
    'gateway_delivery_queue_depth',
    'Deliveries not settled: pending (due or backing off), delivering (claimed), waiting (for an AS2 MDN).',
    ['target', 'kind', 'state'],
    async () => (await queue()).map((r) => ({ labels: { target: r.target_id, kind: r.kind, state: r.state }, value: r.n })),
    onError,
  );
  metrics.gauge(
    'gateway_delivery_oldest_due_seconds',
    'Seconds since the oldest due delivery of a target became due (0: nothing overdue). Grows while a target is down or paused.',
    ['target', 'kind'],
    async () => {
      const oldest = new Map<string, GaugeValue>();
      for (const r of await queue()) {
        const key = `${r.target_id}\n${r.kind}`;
        const seen = oldest.get(key);
        if (!seen || r.oldest > seen.value) oldest.set(key, { labels: { target: r.target_id, kind: r.kind }, value: r.oldest });
      }
      return [...oldest.values()];
    },
    onError,
  );
  metrics.gauge(
    'gateway_as2_mdns_pending',
    'AS2 MDNs outstanding: awaited (a message we sent, its asynchronous MDN not yet received) and owed (an asynchronous MDN we must still post).',
    ['direction'],
    async () => {
      const rows = await queue();
      const count = (match: (r: QueueRow) => boolean) => rows.filter(match).reduce((n, r) => n + r.n, 0);
      return [
        { labels: { direction: 'awaited' }, value: count((r) => r.kind === 'as2' && r.state === 'waiting') },
        { labels: { direction: 'owed' }, value: count((r) => r.kind === 'as2-mdn') },
      ];
    },
    onError,
  );
  metrics.gauge(
    'gateway_messages_awaiting_interpretation',
    'Messages received and not yet interpreted.',
    [],
    async () => {
      const row = await knex('messages').where('state', 'received').count<{ n: string }[]>({ n: '*' }).first();
      return [{ value: Number(row?.n ?? 0) }];
    },
    onError,
  );
  metrics.gauge(
    'gateway_exceptions_open',
    'Tolerance exceptions open or assigned (not yet resolved or waived), by partner and rule (decision 0036).',
    ['partner', 'rule'],
    async () => {
      const rows: { partner_id: string; rule: string; n: string }[] = await knex('business_exceptions')
        .select('partner_id', 'rule')
        .count({ n: '*' })
        .whereIn('state', ['open', 'assigned'])
        .groupBy('partner_id', 'rule');
      return summed(rows.map((r) => ({ labels: { partner: metrics.partner(r.partner_id), rule: r.rule }, value: Number(r.n) })));
    },
    onError,
  );
  metrics.gauge(
    'gateway_acks_overdue',
    'Outbound X12 documents whose 997/999 is overdue, by partner.',
    ['partner'],
    async () => {
      const rows: { partner_id: string; n: string }[] = await knex('messages')
        .select('partner_id')
        .count({ n: '*' })
        .where('ack_status', 'overdue')
        .groupBy('partner_id');
      return summed(rows.map((r) => ({ labels: { partner: metrics.partner(r.partner_id) }, value: Number(r.n) })));
    },
    onError,
  );
}

/** Seconds until each credential expires (negative: expired): alert on a low value. Revoked and unexpiring ones are left out. */
export function registerCredentialExpiry(metrics: GatewayMetrics, list: () => Promise<Credential[]>, log: Logger): void {
  metrics.gauge(
    'gateway_credential_expiry_seconds',
    'Seconds until the credential expires (negative: expired).',
    ['kind', 'ref', 'partner', 'source'],
    async () => {
      const now = Date.now();
      return (await list())
        .filter((c) => c.expiresAt && !c.revokedAt)
        .map((c) => ({
          labels: { kind: c.kind, ref: c.ref, partner: c.partnerId ?? '', source: c.source },
          value: Math.round(((c.expiresAt as Date).getTime() - now) / 1000),
        }));
    },
    (name, err) => log.warn({ metric: name, err: err.message }, 'metrics: cannot read the gauge now'),
  );
}
