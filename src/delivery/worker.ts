import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { GatewayError, isGatewayError } from '../errors.js';
import { claimDeliveries, renewLeases } from './claim.js';
import { recordOutcome } from './outcome.js';
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
}

/**
 * The one outbox worker: claims due deliveries of every kind, sends them concurrently through their
 * transports while a heartbeat renews their lease, and records each outcome. No transaction is open
 * while a transport talks to the network. Returns the number claimed.
 */
export async function deliverBatch(knex: Knex, log: Logger, opts: DeliveryOptions): Promise<number> {
  const claimed = await claimDeliveries(knex, opts);
  if (!claimed.length) return 0;
  const inFlight = new Set(claimed.map((d) => d.id));
  let beating = false;
  const heartbeat = setInterval(
    () => {
      if (beating) return;
      beating = true;
      renewLeases(knex, opts.workerId, [...inFlight])
        .catch((err: Error) => log.warn({ err: err.message, deliveries: inFlight.size }, 'delivery: cannot renew leases'))
        .finally(() => (beating = false));
    },
    Math.max(10, Math.floor(opts.leaseMs / 3)),
  );
  try {
    const outcomes = await Promise.allSettled(claimed.map((d) => deliverOne(knex, log, opts, d).finally(() => inFlight.delete(d.id))));
    // A failure to record an outcome (the store is down) leaves the row to be claimed again after the lease.
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    clearInterval(heartbeat);
  }
  return claimed.length;
}

async function deliverOne(knex: Knex, log: Logger, opts: DeliveryOptions, item: OutboxItem): Promise<void> {
  const transport = opts.transports[item.target.kind];
  const outcome = await attempt(() => transport.send(item));
  await recordOutcome(knex, { log, policy: opts.policy(item), transport }, item, outcome, { workerId: opts.workerId });
}

/** A transport that throws instead of answering with an outcome failed this attempt, retryably unless its error says otherwise. */
async function attempt(send: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await send();
  } catch (err) {
    return { status: 'failed', error: isGatewayError(err) ? err : new GatewayError('GW_INTERNAL', (err as Error).message, { cause: err }) };
  }
}
