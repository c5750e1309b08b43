import type { Knex } from 'knex';

/** The spine: raw messages, canonical documents, the timeline and the delivery outbox. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('messages', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    t.text('channel').notNullable();
    t.text('direction').notNullable().defaultTo('inbound');
    t.text('content_type').notNullable();
    t.text('format').notNullable();
    t.binary('raw').notNullable();
    t.integer('size_bytes').notNullable();
    t.text('sha256').notNullable();
    t.text('correlation_id').notNullable();
    t.text('idempotency_key');
    t.text('state').notNullable().defaultTo('received');
    t.jsonb('problems').notNullable().defaultTo('[]');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('processed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['partner_id', 'idempotency_key']);
    t.index(['partner_id', 'received_at']);
  });
  await knex.raw(`CREATE INDEX messages_to_process ON messages (received_at) WHERE state = 'received'`);

  await knex.schema.createTable('documents', (t) => {
    t.uuid('id').primary();
    t.uuid('message_id').notNullable().references('messages.id');
    t.integer('seq').notNullable();
    t.text('partner_id').notNullable();
    t.text('type');
    t.integer('schema_version');
    t.text('profile_id');
    t.integer('profile_version');
    t.text('state').notNullable();
    t.jsonb('canonical');
    t.jsonb('problems').notNullable().defaultTo('[]');
    t.text('document_number');
    t.specificType('po_numbers', 'text[]').notNullable().defaultTo('{}');
    t.text('source_ref').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['message_id', 'seq']);
    t.index(['partner_id', 'type', 'document_number']);
  });
  await knex.raw('CREATE INDEX documents_po_numbers ON documents USING gin (po_numbers)');

  await knex.schema.createTable('deliveries', (t) => {
    t.uuid('id').primary();
    t.uuid('document_id').notNullable().references('documents.id');
    t.uuid('message_id').notNullable().references('messages.id');
    t.text('partner_id').notNullable();
    t.text('target_id').notNullable();
    t.jsonb('target').notNullable();
    t.text('idempotency_key').notNullable().unique();
    t.text('state').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').notNullable();
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('locked_at', { useTz: true });
    t.text('locked_by');
    t.text('last_error');
    t.text('last_error_code');
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending'`);
  await knex.raw(`CREATE INDEX deliveries_message ON deliveries (message_id)`);

  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id');
    t.uuid('message_id').notNullable().references('messages.id');
    t.uuid('document_id');
    t.uuid('delivery_id');
    t.text('type').notNullable();
    t.text('code');
    t.text('detail');
    t.jsonb('data');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['message_id', 'id']);
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations move forward only');
}
