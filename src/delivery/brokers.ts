import type { AmqpTarget, NatsTarget } from '../types.js';
import { AmqpPublisher } from './amqp.js';
import type { BrokerMessage } from './broker-message.js';
import { envelopeOf } from './erp.js';
import { NatsPublisher } from './nats.js';
import type { OutboxItem, Transport } from './transport.js';

/**
 * The broker transports (`amqp`, `nats`): each publishes a BrokerMessage and counts it delivered
 * only on the broker's confirmation. `messageOf` says what a delivery's message is, so the same
 * transports carry documents today and other payloads (events) with a function of their own.
 * One connection per broker, opened on first use and again after it fails; `close` ends them all.
 */
export class BrokerTransports {
  readonly amqpPublisher: AmqpPublisher;
  readonly natsPublisher: NatsPublisher;

  /** `secret` reads a target's `passwordEnv` (the gateway's environment). */
  constructor(secret: (name: string) => string | undefined) {
    this.amqpPublisher = new AmqpPublisher(secret);
    this.natsPublisher = new NatsPublisher(secret);
  }

  transports(settle: Transport['settle'], messageOf: (item: OutboxItem) => BrokerMessage = documentMessage): { amqp: Transport; nats: Transport } {
    return {
      amqp: { send: async (item) => ({ status: 'delivered', detail: await this.amqpPublisher.publish(item.target as AmqpTarget, messageOf(item)) }), settle },
      nats: { send: async (item) => ({ status: 'delivered', detail: await this.natsPublisher.publish(item.target as NatsTarget, messageOf(item)) }), settle },
    };
  }

  /** Closes every broker connection (at gateway stop, after the delivery loop has stopped). */
  async close(): Promise<void> {
    await Promise.all([this.amqpPublisher.close(), this.natsPublisher.close()]);
  }
}

/** A document delivery as a broker message: the envelope the HTTP ERP delivery posts, with the same facts as headers. */
export function documentMessage(item: OutboxItem): BrokerMessage {
  const env = envelopeOf(item);
  const type = `${env.type}/v${env.schemaVersion}`;
  return {
    id: env.idempotencyKey,
    body: Buffer.from(JSON.stringify(env)),
    contentType: 'application/json',
    type,
    correlationId: env.correlationId,
    headers: { 'x-gateway-document-type': type, 'x-gateway-partner': env.partner, 'x-correlation-id': env.correlationId },
  };
}
