import { GatewayError } from '../errors.js';
import type { BrokerLogin } from '../types.js';

/** What a broker transport publishes, whatever the payload is (a document's envelope, an event). */
export interface BrokerMessage {
  /** The delivery's idempotency key: AMQP `messageId`, JetStream `Nats-Msg-Id`; brokers de-duplicate by it. */
  id: string;
  body: Buffer;
  contentType: string;
  /** What the body is, e.g. `invoice/v1` (the AMQP `type` property). */
  type: string;
  correlationId: string;
  /** Headers the consumer may route or filter by (`x-gateway-partner` …). */
  headers: Record<string, string>;
}

/** How long a connect, or the broker's confirmation of a publish, may take unless the target says. */
export const BROKER_TIMEOUT_MS = 10_000;

/** The password of a target's login, read from the environment variable it names. */
export function passwordOf(target: BrokerLogin & { id: string }, secret: (name: string) => string | undefined): string | undefined {
  if (!target.passwordEnv) return undefined;
  const password = secret(target.passwordEnv);
  // The profile check refuses this at load; a delivery queued before a change of environment can still meet it.
  if (!password) throw new GatewayError('GW_DELIVERY_TARGET', `target ${target.id}: environment variable ${target.passwordEnv} (passwordEnv) is not set`);
  return password;
}

/**
 * A cache of one connection per broker: opened on first use, forgotten when it fails (the next send
 * opens another), closed all at once at stop. A failed connect is not cached.
 */
export class Connections<C> {
  private readonly open = new Map<string, Promise<C>>();

  constructor(private readonly end: (c: C) => Promise<void>) {}

  get(key: string, connect: (forget: () => void) => Promise<C>): Promise<C> {
    const known = this.open.get(key);
    if (known) return known;
    const forget = () => {
      if (this.open.get(key) === opening) this.open.delete(key);
    };
    const opening = connect(forget);
    this.open.set(key, opening);
    opening.catch(forget);
    return opening;
  }

  /** Forgets the connection and ends it (after a timeout, or when it is no longer trusted). */
  drop(key: string, c: C): void {
    const known = this.open.get(key);
    void known?.then((k) => {
      if (k === c) this.open.delete(key);
    });
    this.end(c).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.then(this.end, () => undefined).catch(() => undefined)));
  }
}
