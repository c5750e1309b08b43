import { randomBytes } from 'node:crypto';
import { jetstreamManager, type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { connect as natsConnect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { type Channel, type ChannelModel, connect as amqpConnect } from 'amqplib';
import { reachable } from './tcp-proxy.js';

/** The machine's RabbitMQ and NATS (.ci/run starts them when installed). */
export const RABBIT = { host: '127.0.0.1', port: 5672 };
export const NATS = { host: '127.0.0.1', port: 4222 };
export const NATS_URL = `nats://${NATS.host}:${NATS.port}`;

/** Skips the test and says why in the output: the broker is not running on this machine. */
export function skipWithout(ctx: Mocha.Context, what: string, where: { port: number }): never {
  console.log(`      skipped: ${what} is not reachable on 127.0.0.1:${where.port} (.ci/run starts it)`);
  ctx.skip();
}

/**
 * A suite's own RabbitMQ exchange and JetStream stream (names unique to the run, removed after it),
 * each undefined when its broker is not reachable. Call in `describe`: it adds the hooks.
 */
export function brokerFixture(prefix: string): {
  run: string;
  exchange: string;
  stream: string;
  rabbit(): { model: ChannelModel; ch: Channel } | undefined;
  nats(): { nc: NatsConnection; jsm: JetStreamManager } | undefined;
} {
  const run = randomBytes(4).toString('hex');
  const exchange = `${prefix}-${run}`;
  const stream = `${prefix.toUpperCase().replaceAll('-', '_')}_${run}`;
  let rabbit: { model: ChannelModel; ch: Channel } | undefined;
  let nats: { nc: NatsConnection; jsm: JetStreamManager } | undefined;
  before(async () => {
    if (await reachable(RABBIT.host, RABBIT.port)) {
      const model = await amqpConnect(`amqp://guest:guest@${RABBIT.host}:${RABBIT.port}`);
      const ch = await model.createChannel();
      await ch.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
      rabbit = { model, ch };
    }
    if (await reachable(NATS.host, NATS.port)) {
      const nc = await natsConnect({ servers: NATS_URL });
      const jsm = await jetstreamManager(nc);
      const subjects = [`${prefix.replaceAll('-', '')}.${run}.>`];
      await jsm.streams.add({ name: stream, subjects, storage: StorageType.Memory, duplicate_window: nanos(120_000) });
      nats = { nc, jsm };
    }
  });
  after(async () => {
    await rabbit?.ch.deleteExchange(exchange).catch(() => undefined);
    await rabbit?.model.close();
    await nats?.jsm.streams.delete(stream).catch(() => undefined);
    await nats?.nc.close();
  });
  return { run, exchange, stream, rabbit: () => rabbit, nats: () => nats };
}
