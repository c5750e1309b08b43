import type { Knex } from 'knex';

/**
 * The SFTP door's login failures (decision 0041), shared by every replica as the portal's are: one
 * row per user name at an address (`p:<user>|<address>`) and per address (`a:<address>`), with the
 * count since the first failure of the window and the end of a lockout (epoch ms, 0: none).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sftp_login_failures', (t) => {
    t.text('key').primary();
    t.integer('count').notNullable();
    t.bigInteger('first_at_ms').notNullable();
    t.bigInteger('locked_until_ms').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sftp_login_failures');
}
