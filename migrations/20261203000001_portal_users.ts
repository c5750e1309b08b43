import type { Knex } from 'knex';

/**
 * The portal's sign-in (decision 0023): local users, their sessions (only a hash of each session id
 * is kept) and failed sign-ins, counted here rather than in memory so that every replica applies
 * the same lockout.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_users', (t) => {
    t.bigIncrements('id');
    /** Lower case: `Alice` and `alice` are one user. */
    t.text('username').notNullable().unique();
    t.text('display_name').notNullable();
    t.text('role').notNullable();
    /** The one partner a supplier user acts for; null for every other role. */
    t.text('partner_id');
    /** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash, so they can be raised later. */
    t.text('password_hash').notNullable();
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('last_sign_in_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE portal_users
    ADD CONSTRAINT portal_users_role CHECK (role IN ('supplier', 'partner-manager', 'security', 'operations', 'admin')),
    ADD CONSTRAINT portal_users_partner CHECK ((role = 'supplier') = (partner_id IS NOT NULL))`);
  await knex.schema.createTable('portal_sessions', (t) => {
    /** SHA-256 of the cookie's value: a copy of the table signs nobody in. */
    t.text('id_sha256').primary();
    t.bigInteger('user_id').notNullable().references('portal_users.id').onDelete('CASCADE');
    /** The synchronizer token every state-changing form of this session carries. */
    t.text('csrf_token').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable();
    /** The absolute end, whatever the activity. */
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });
  await knex.schema.createTable('portal_sign_in_failures', (t) => {
    t.bigIncrements('id');
    /** As typed (lower case), whether or not such a user exists. */
    t.text('username').notNullable();
    t.text('source').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.index(['username', 'at']);
    t.index(['source', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('portal_sign_in_failures');
  await knex.schema.dropTable('portal_sessions');
  await knex.schema.dropTable('portal_users');
}
