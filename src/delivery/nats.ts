import { JetStreamApiError, type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { GatewayError } from '../errors.js';
import type { NatsTarget } from '../types.js';
import { BROKER_TIMEOUT_MS, type BrokerMessage, Connections, passwordOf } from './broker-message.js';

interface NatsLink {
  nc: NatsConnection;
  js: JetStreamClient;
}

/**
 * Publishes to NATS JetStream: done when the stream acknowledges the message. The idempotency key
 * goes as `Nats-Msg-Id`, so a publish repeated within the stream's duplicate window is stored once.
 * The client's own reconnect (and the buffering that goes with it) is off: the outbox retries, and a
 * lost connection is opened again at the next send.
 * @see https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
 */
export class NatsPublisher {
  private readonly links = new Connections<NatsLink>((l) => l.nc.close());

  constructor(private readonly secret: (name: string) => string | undefined) {}

  async publish(target: NatsTarget, msg: BrokerMessage): Promise<string> {
    const timeoutMs = target.timeoutMs ?? BROKER_TIMEOUT_MS;
    // One connection per login: a user with another password (variable) gets its own, never a borrowed one.
    const key = `${target.servers.join(',')}\n${target.username ?? ''}\n${target.passwordEnv ?? ''}`;
    const link = await this.links
      .get(key, (forget) => this.open(target, timeoutMs, forget))
      .catch((err: Error) => {
        throw err instanceof GatewayError ? err : unavailable(target, `cannot connect: ${err.message}`, err);
      });
    const h = headers();
    h.set('content-type', msg.contentType);
    for (const [name, value] of Object.entries(msg.headers)) h.set(name, value);
    try {
      const ack = await link.js.publish(target.subject, msg.body, { msgID: msg.id, expect: { streamName: target.stream }, headers: h, timeout: timeoutMs });
      return `nats ${target.subject}: stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ' (duplicate: stored before)' : ''}`;
    } catch (err) {
      throw publishFailed(target, err as Error);
    }
  }

  close(): Promise<void> {
    return this.links.closeAll();
  }

  private async open(target: NatsTarget, timeoutMs: number, forget: () => void): Promise<NatsLink> {
    const password = passwordOf(target, this.secret);
    const nc = await connect({
      servers: target.servers,
      name: 'partner-gateway',
      timeout: timeoutMs,
      reconnect: false,
      ...(target.username ? { user: target.username } : {}),
      ...(password !== undefined ? { pass: password } : {}),
    });
    void nc.closed().then(forget);
    return { nc, js: jetstream(nc, { timeout: timeoutMs }) };
  }
}

/** No stream for the subject, or another stream than expected, is a refusal; anything else, the server was lost. */
function publishFailed(target: NatsTarget, err: Error): GatewayError {
  // The client names "no responders" to a publish so; the class itself is not exported.
  if (err.name === 'JetStreamNotEnabled') return refused(target, `no JetStream stream captures subject "${target.subject}"`);
  if (err instanceof JetStreamApiError) return refused(target, err.message);
  return unavailable(target, err.message, err);
}

const where = (target: NatsTarget) => `${target.servers.join(',')} (target ${target.id})`;

const refused = (target: NatsTarget, why: string) => new GatewayError('GW_BROKER_REFUSED', `${where(target)} refused the publish: ${why}`);

const unavailable = (target: NatsTarget, why: string, cause?: unknown) =>
  new GatewayError('GW_BROKER_UNAVAILABLE', `${where(target)}: ${why}`, cause ? { cause } : undefined);
