import type { Knex } from 'knex';

/**
 * Security: credentials issued and rotated at run time (secrets sealed under the master key),
 * retirements of credentials declared in partner YAML, the append-only audit log, used client
 * assertion ids (private_key_jwt replay) and seen webhook signatures, and the scopes a message was
 * received under.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credentials', (t) => {
    t.text('id').primary();
    /** Null for the gateway's own credentials (token-signing keys, the ERP signing secret). */
    t.text('partner_id');
    t.text('kind').notNullable();
    /** What identifies it: API key id, client secret id, key id, certificate or SSH fingerprint. */
    t.text('ref').notNullable();
    /** Public material or a hash: never a secret. */
    t.jsonb('public').notNullable().defaultTo('{}');
    /** Envelope-encrypted secret (src/security/secrets.ts), for secrets the gateway must use itself. */
    t.jsonb('secret');
    t.specificType('scopes', 'text[]');
    t.timestamp('not_before', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('created_by').notNullable();
    t.unique(['kind', 'ref']);
    t.index(['kind', 'partner_id']);
  });
  await knex.schema.createTable('credential_retirements', (t) => {
    /** A credential listed in a partner's YAML, ended early by `creds rotate` (after the overlap) or `revoke` (at once). */
    t.text('kind').notNullable();
    t.text('ref').notNullable();
    t.text('partner_id');
    t.timestamp('effective_at', { useTz: true }).notNullable();
    t.boolean('revoked').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('created_by').notNullable();
    t.primary(['kind', 'ref']);
  });
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** Who: `partner:<id>`, `admin:<key id>`, `cli:<os user>`, `gateway`. */
    t.text('actor').notNullable();
    /** What: `oauth.token`, `sftp.login`, `credential.rotate`, `config.reload`, `message.replay` … */
    t.text('action').notNullable();
    t.text('target');
    /** From where: remote address, or `cli@<host>`. */
    t.text('source');
    t.text('outcome').notNullable();
    t.jsonb('details');
    t.index(['at']);
    t.index(['action', 'at']);
  });
  // Append-only: the table refuses updates, deletes and truncation, whoever asks.
  await knex.raw(`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
  `);
  await knex.schema.createTable('oauth_assertions', (t) => {
    t.text('client_id').notNullable();
    t.text('jti').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['client_id', 'jti']);
  });
  await knex.schema.createTable('webhook_signatures', (t) => {
    t.text('sha256').primary();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  await knex.schema.alterTable('messages', (t) => {
    /** The scopes the sender held; each document's type must be among them. Null: not restricted. */
    t.specificType('scopes', 'text[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.dropColumn('scopes'));
  await knex.schema.dropTable('webhook_signatures');
  await knex.schema.dropTable('oauth_assertions');
  await knex.raw('DROP TABLE audit_log; DROP FUNCTION audit_log_append_only()');
  await knex.schema.dropTable('credential_retirements');
  await knex.schema.dropTable('credentials');
}
