import type { Knex } from 'knex';

/**
 * SSCC serial references (carton numbers) the gateway has handed out for each partner, one counter
 * per partner, company prefix and extension digit: an SSCC is unique only as that whole, and a
 * partner that changes its extension digit or prefix starts a counter of its own. Rows are never
 * deleted: a serial handed out once must not be handed out again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sscc_serials', (t) => {
    t.text('partner_id').notNullable();
    t.text('company_prefix').notNullable();
    t.smallint('extension_digit').notNullable();
    /** The highest serial reference handed out (the first allocation hands out 1). */
    t.bigint('last_serial').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['partner_id', 'company_prefix', 'extension_digit']);
  });
  await knex.raw(`ALTER TABLE sscc_serials
    ADD CONSTRAINT sscc_serials_prefix CHECK (company_prefix ~ '^[0-9]{7,10}$'),
    ADD CONSTRAINT sscc_serials_extension CHECK (extension_digit BETWEEN 0 AND 9),
    ADD CONSTRAINT sscc_serials_positive CHECK (last_serial > 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sscc_serials');
}
