import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * What one gateway process tells the others through PostgreSQL's LISTEN/NOTIFY. A notification is
 * sent in the transaction that makes the change, so it arrives only if that transaction commits.
 */
export const SIGNALS = {
  /** Messages were stored and wait for interpretation. */
  messages: 'gateway_messages',
  /** Deliveries were queued or became due. */
  deliveries: 'gateway_deliveries',
  /** A credential was issued, rotated, revoked or retired: cached verifications are stale. */
  credentials: 'gateway_credentials',
  /** A partner's lifecycle state changed (decision 0034): the doors' view of who is suspended is stale. */
  partners: 'gateway_partners',
  /** An event subscription was registered or removed (decision 0037): the view publishing matches against is stale. */
  subscriptions: 'gateway_subscriptions',
} as const;

export type Signal = keyof typeof SIGNALS;

/** Sends `signal` when `trx` commits (PostgreSQL folds repeats within one transaction into one). */
export async function notify(trx: Knex.Transaction | Knex, signal: Signal): Promise<void> {
  await trx.raw('SELECT pg_notify(?, ?)', [SIGNALS[signal], '']);
}

export interface SignalHandlers {
  /** Called for each notification of a signal, from any process (this one included). */
  on: Partial<Record<Signal, () => void>>;
  /**
   * Called with false when the listening connection is lost (notifications may be missed until it
   * is back) and with true once it listens again. Whatever trusts notifications to stay fresh, such
   * as a cache, must stop trusting them while it is false.
   */
  onListening?: (listening: boolean) => void;
}

/** How long to wait before reconnecting after the listening connection is lost: doubled each time up to the last. */
const RECONNECT_MS = [250, 500, 1000, 2000, 5000];

/**
 * One connection that LISTENs to every signal and reconnects when it is lost. It never throws into
 * its caller: a database that is down only means no notifications until it is back, which the
 * work loops' polling covers.
 */
export class SignalListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  listening = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly handlers: SignalHandlers,
    private readonly log: Logger,
  ) {}

  /** A listener on the database `knex` uses. */
  static forKnex(knex: Knex, handlers: SignalHandlers, log: Logger): SignalListener {
    const { connection } = knex.client.config as { connection: pg.ClientConfig };
    return new SignalListener({ ...connection, application_name: 'partner-gateway (listen)' }, handlers, log);
  }

  /** Connects and listens; resolves once listening or once the first attempt failed (it keeps retrying). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.setListening(false);
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connection);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => this.dispatch(n.channel));
    this.client = client;
    try {
      await client.connect();
      await client.query(
        Object.values(SIGNALS)
          .map((channel) => `LISTEN ${channel}`)
          .join('; '),
      );
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.client !== client) return;
    if (this.failures > 0) this.log.info('database notifications are back');
    this.failures = 0;
    this.setListening(true);
  }

  private dispatch(channel: string): void {
    const signal = (Object.keys(SIGNALS) as Signal[]).find((s) => SIGNALS[s] === channel);
    if (signal) this.handlers.on[signal]?.();
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.setListening(false);
    client.end().catch(() => undefined);
    if (this.stopped) return;
    const wait = RECONNECT_MS[Math.min(this.failures++, RECONNECT_MS.length - 1)] as number;
    if (this.failures === 1) this.log.warn({ err: err?.message, retryMs: wait }, 'lost the database notification connection; polling until it is back');
    this.retry = setTimeout(() => void this.connect(), wait);
  }

  private setListening(listening: boolean): void {
    if (this.listening === listening) return;
    this.listening = listening;
    this.handlers.onListening?.(listening);
  }
}

/**
 * Sends signals after the commits they announce, at most one statement in flight per signal: rings
 * that come while one is in flight are folded into one more, so a burst costs two round trips.
 */
export class SignalSender {
  private readonly inFlight = new Set<Signal>();
  private readonly again = new Set<Signal>();

  constructor(
    private readonly knex: Knex,
    private readonly log: Logger,
  ) {}

  ring(signal: Signal): void {
    if (this.inFlight.has(signal)) {
      this.again.add(signal);
      return;
    }
    this.inFlight.add(signal);
    notify(this.knex, signal)
      // A lost signal only delays other processes until their next poll.
      .catch((err: Error) => this.log.debug({ err: err.message, signal }, 'cannot send a database notification'))
      .finally(() => {
        this.inFlight.delete(signal);
        if (this.again.delete(signal)) this.ring(signal);
      });
  }
}
