import type { Knex } from 'knex';

/**
 * Broker subscribers (decisions 0037, 0038): an event subscription may publish to a RabbitMQ
 * exchange or a NATS JetStream subject instead of posting to a webhook. `broker` holds where on
 * the broker (`{exchange, routingKey}` or `{subject, stream?}`); null for a webhook.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('event_subscriptions', (t) => {
    t.jsonb('broker');
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
