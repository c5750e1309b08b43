import type { Knex } from 'knex';

/**
 * Portal sign-in by OpenID Connect (decision 0025). A user may now come from the identity provider:
 * such a row has no password, names the provider's issuer and subject, and is never a supplier.
 * Pending sign-ins (between the redirect to the provider and its answer) are rows, not memory, so
 * any replica can take the callback, and each is used once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('portal_users', (t) => {
    t.text('password_hash').nullable().alter();
    /** `local` (password, `gateway users`) or `oidc` (the identity provider vouches at each sign-in). */
    t.text('source').notNullable().defaultTo('local');
    t.text('oidc_issuer');
    t.text('oidc_subject');
    t.unique(['oidc_issuer', 'oidc_subject']);
  });
  await knex.raw(`ALTER TABLE portal_users
    ADD CONSTRAINT portal_users_source CHECK (
      (source = 'local' AND password_hash IS NOT NULL AND oidc_subject IS NULL)
      OR (source = 'oidc' AND password_hash IS NULL AND oidc_issuer IS NOT NULL AND oidc_subject IS NOT NULL AND role <> 'supplier'))`);
  await knex.schema.createTable('portal_oidc_logins', (t) => {
    /** SHA-256 of the browser's `gw_oidc` cookie: the callback must come from the browser that started. */
    t.text('id_sha256').primary();
    t.text('state').notNullable();
    t.text('nonce').notNullable();
    /** The PKCE verifier; only its S256 challenge went to the provider. */
    t.text('code_verifier').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('portal_oidc_logins');
  await knex.raw('ALTER TABLE portal_users DROP CONSTRAINT portal_users_source');
  await knex.schema.alterTable('portal_users', (t) => {
    t.dropUnique(['oidc_issuer', 'oidc_subject']);
    t.dropColumns('source', 'oidc_issuer', 'oidc_subject');
  });
  await knex('portal_users').whereNull('password_hash').del();
  await knex.schema.alterTable('portal_users', (t) => {
    t.text('password_hash').notNullable().alter();
  });
}
