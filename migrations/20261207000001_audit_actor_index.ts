import type { Knex } from 'knex';

/**
 * The portal's audit page (decision 0033) filters by actor and pages by id, newest first: one index
 * answers "this actor's entries before id N" without reading the others.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => t.index(['actor', 'id'], 'audit_log_actor_id_index'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => t.dropIndex(['actor', 'id'], 'audit_log_actor_id_index'));
}
