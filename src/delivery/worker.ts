import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { GatewayError, isGatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { claimDeliveries, renewLeases } from './claim.js';
import { recordOutcomes, type Attempt } from './outcome.js';
import type { RetryPolicy } from './policy.js';
import type { OutboxItem, Outcome, Transports } from './transport.js';

export interface DeliveryOptions {
  workerId: string;
  batchSize: number;
  /**
   * A row left `delivering` longer than this is claimed again. The live worker renews it every
   * third of it while the send is in flight, so it only lapses when the worker is gone.
   */
  leaseMs: number;
  /** The retry policy and breaker settings for a delivery (its route's or its transport's, over the defaults). */
  policy: (item: OutboxItem) => RetryPolicy;
  /** One transport per target kind. */
  transports: Transports;
  /** Sends in flight to one target at a time; the rest of the target's batch waits its turn. */
  targetConcurrency: number;
  /** Counts attempts here and outcomes once recorded (docs/metrics.md). */
  metrics?: GatewayMetrics;
}

/**
 * The one outbox worker: claims due deliveries of every kind, sends them concurrently through their
 * transports while a heartbeat renews their lease, and records each outcome. No transaction is open
 * while a transport talks to the network. Returns the number claimed.
 */
export async function deliverBatch(knex: Knex, log: Logger, opts: DeliveryOptions): Promise<number> {
  const claimed = await claimDeliveries(knex, opts);
  if (!claimed.length) return 0;
  const inFlight = claimed.map((d) => d.id);
  let beating = false;
  const heartbeat = setInterval(
    () => {
      if (beating) return;
      beating = true;
      renewLeases(knex, opts.workerId, inFlight)
        .catch((err: Error) => log.warn({ err: err.message, deliveries: inFlight.length }, 'delivery: cannot renew leases'))
        .finally(() => (beating = false));
    },
    Math.max(10, Math.floor(opts.leaseMs / 3)),
  );
  try {
    const attempts = await sendAll(log, opts, claimed);
    // One transaction records the whole batch. If it fails (the store is down), the rows are claimed
    // again after their lease.
    await recordOutcomes(knex, attempts, { workerId: opts.workerId });
  } finally {
    clearInterval(heartbeat);
  }
  return claimed.length;
}

/** Sends a batch: every target at once, at most `targetConcurrency` sends to each. */
async function sendAll(log: Logger, opts: DeliveryOptions, claimed: readonly OutboxItem[]): Promise<Attempt[]> {
  const byTarget = new Map<string, OutboxItem[]>();
  for (const item of claimed) {
    const group = byTarget.get(item.targetId);
    if (group) group.push(item);
    else byTarget.set(item.targetId, [item]);
  }
  const attempts: Attempt[] = [];
  await Promise.all(
    [...byTarget.values()].map(async (items) => {
      const queue = [...items];
      const lane = async () => {
        for (let item = queue.shift(); item; item = queue.shift()) attempts.push(await sendOne(log, opts, item));
      };
      await Promise.all(Array.from({ length: Math.min(opts.targetConcurrency, queue.length) }, lane));
    }),
  );
  return attempts;
}

async function sendOne(log: Logger, opts: DeliveryOptions, item: OutboxItem): Promise<Attempt> {
  const transport = opts.transports[item.target.kind];
  opts.metrics?.deliveryAttempted({ targetId: item.targetId, kind: item.target.kind });
  const outcome = await attempt(() => transport.send(item));
  return { item, outcome, ctx: { log, policy: opts.policy(item), transport, ...(opts.metrics ? { metrics: opts.metrics } : {}) } };
}

/** A transport that throws instead of answering with an outcome failed this attempt, retryably unless its error says otherwise. */
async function attempt(send: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await send();
  } catch (err) {
    return { status: 'failed', error: isGatewayError(err) ? err : new GatewayError('GW_INTERNAL', (err as Error).message, { cause: err }) };
  }
}
