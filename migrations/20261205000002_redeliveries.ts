import type { Knex } from 'knex';

/**
 * Redeliveries (decision 0030): an operator sends a document again to its target as a new
 * `deliveries` row that names the row it sends again. The earlier row keeps its story (attempts,
 * last error, dead or delivered); a row sent again no longer counts for its message's state nor
 * among dead letters.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE deliveries ADD COLUMN redelivery_of uuid REFERENCES deliveries (id)');
  await knex.raw('CREATE UNIQUE INDEX deliveries_redelivery_of ON deliveries (redelivery_of) WHERE redelivery_of IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE deliveries DROP COLUMN redelivery_of');
}
