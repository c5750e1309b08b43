import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { GatewayError } from '../errors.js';
import type { AmqpTarget } from '../types.js';
import { BROKER_TIMEOUT_MS, type BrokerMessage, Connections, passwordOf } from './broker-message.js';

/** One connection to a RabbitMQ server with its confirm channel. */
interface AmqpLink {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Message ids the broker returned as unroutable (basic.return comes before their ack). */
  returned: Set<string>;
  /** Why the broker closed the channel (a missing exchange closes it with 404). */
  closedBy?: Error & { code?: number };
}

/**
 * Publishes to RabbitMQ exchanges: persistent, `mandatory` (a message no queue takes is a refusal,
 * not a success), done on the publisher confirm. The message id is the delivery's idempotency key.
 * @see https://www.rabbitmq.com/docs/confirms#publisher-confirms
 */
export class AmqpPublisher {
  private readonly links = new Connections<AmqpLink>((l) => l.model.close());

  constructor(private readonly secret: (name: string) => string | undefined) {}

  async publish(target: AmqpTarget, msg: BrokerMessage): Promise<string> {
    const timeoutMs = target.timeoutMs ?? BROKER_TIMEOUT_MS;
    // One connection per login: a user with another password (variable) gets its own, never a borrowed one.
    const key = `${target.url}\n${target.username ?? ''}\n${target.passwordEnv ?? ''}`;
    const link = await this.links
      .get(key, (forget) => this.open(target, timeoutMs, forget))
      .catch((err: Error) => {
        throw err instanceof GatewayError ? err : unavailable(target, `cannot connect: ${err.message}`, err);
      });
    try {
      await confirmed(link, target, msg, timeoutMs);
    } catch (err) {
      // A channel that lost a confirm is not trusted with the next: the next send connects again.
      if ((err as GatewayError).code === 'GW_BROKER_UNAVAILABLE') this.links.drop(key, link);
      throw err;
    }
    return `amqp ${target.exchange || '(default exchange)'} ${target.routingKey}: confirmed`;
  }

  close(): Promise<void> {
    return this.links.closeAll();
  }

  private async open(target: AmqpTarget, timeoutMs: number, forget: () => void): Promise<AmqpLink> {
    const url = new URL(target.url);
    if (target.username) url.username = encodeURIComponent(target.username);
    const password = passwordOf(target, this.secret);
    if (password !== undefined) url.password = encodeURIComponent(password);
    const model = await connect(url.toString(), { timeout: timeoutMs, clientProperties: { connection_name: 'partner-gateway' } });
    // Without a listener an 'error' would throw; the close that follows forgets the connection.
    model.on('error', () => undefined);
    model.on('close', forget);
    try {
      const channel = await model.createConfirmChannel();
      const link: AmqpLink = { model, channel, returned: new Set() };
      channel.on('error', (err: AmqpLink['closedBy']) => (link.closedBy = err));
      channel.on('return', (m: { properties: { messageId?: string } }) => m.properties.messageId && link.returned.add(m.properties.messageId));
      channel.on('close', () => {
        forget();
        model.close().catch(() => undefined);
      });
      return link;
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
  }
}

/** Publishes one message and resolves on the broker's ack; rejects with a GatewayError otherwise. */
function confirmed(link: AmqpLink, target: AmqpTarget, msg: BrokerMessage, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(unavailable(target, `no confirm within ${timeoutMs} ms`)), timeoutMs);
    const answer = (err: unknown) => {
      clearTimeout(timer);
      const returned = link.returned.delete(msg.id);
      if (err) reject(publishFailed(link, target, err as Error));
      else if (returned) reject(refused(target, `no queue is bound to exchange "${target.exchange}" for routing key "${target.routingKey}"`));
      else resolve();
    };
    try {
      link.channel.publish(target.exchange, target.routingKey, msg.body, propertiesOf(msg), answer);
    } catch (err) {
      answer(err);
    }
  });
}

function propertiesOf(msg: BrokerMessage) {
  return {
    messageId: msg.id,
    persistent: true,
    mandatory: true,
    contentType: msg.contentType,
    type: msg.type,
    correlationId: msg.correlationId,
    appId: 'partner-gateway',
    timestamp: Math.floor(Date.now() / 1000),
    headers: msg.headers,
  };
}

/** A nack or a channel the broker closed with a reason (404 no exchange, 403 access) is a refusal; anything else, the broker was lost. */
function publishFailed(link: AmqpLink, target: AmqpTarget, err: Error): GatewayError {
  if (/nack/i.test(err.message)) return refused(target, 'the broker sent a negative acknowledgment');
  const reason = link.closedBy;
  if (reason && typeof reason.code === 'number' && reason.code !== 320) return refused(target, reason.message);
  return unavailable(target, err.message, err);
}

const refused = (target: AmqpTarget, why: string) => new GatewayError('GW_BROKER_REFUSED', `${target.url} (target ${target.id}) refused the publish: ${why}`);

const unavailable = (target: AmqpTarget, why: string, cause?: unknown) =>
  new GatewayError('GW_BROKER_UNAVAILABLE', `${target.url} (target ${target.id}): ${why}`, cause ? { cause } : undefined);
