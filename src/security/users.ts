import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { hashPassword, verifyPassword } from './ssh-keys.js';

/**
 * The portal's local users (decision 0023). A supplier acts for exactly one partner; the other
 * roles act for the operator and belong to none. Passwords are kept only as scrypt hashes with
 * their parameters (`scrypt$N$r$p$salt$hash`, src/security/ssh-keys.ts).
 */

export const ROLES = ['supplier', 'partner-manager', 'security', 'operations', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface PortalUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  partnerId: string | null;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  lastSignInAt: Date | null;
}

export interface NewUser {
  username: string;
  role: string;
  partnerId?: string | undefined;
  displayName?: string | undefined;
}

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

/** Usernames are compared in lower case, so `Alice` signs in as `alice`. */
export function normalUsername(v: string): string {
  return v.trim().toLowerCase();
}

/** A new user's fields, checked against the roles and the partners configured; GW_PORTAL_USER names what is wrong. */
export function checkNewUser(config: GatewayConfig, u: NewUser): Omit<PortalUser, 'id' | 'disabled' | 'createdAt' | 'updatedAt' | 'lastSignInAt'> {
  const username = normalUsername(u.username);
  if (!USERNAME.test(username))
    throw new GatewayError('GW_PORTAL_USER', `The username "${u.username}" must be 1-64 letters, digits, dots, dashes, underscores or @.`);
  if (!isRole(u.role)) throw new GatewayError('GW_PORTAL_USER', `--role must be one of ${ROLES.join(', ')} (found "${u.role}").`);
  if (u.role === 'supplier' && !u.partnerId) throw new GatewayError('GW_PORTAL_USER', 'A supplier user acts for one partner: give --partner <partner id>.');
  if (u.role !== 'supplier' && u.partnerId) throw new GatewayError('GW_PORTAL_USER', `Only supplier users belong to a partner; drop --partner for ${u.role}.`);
  if (u.partnerId && !config.partners.has(u.partnerId))
    throw new GatewayError(
      'GW_PORTAL_USER',
      `No partner "${u.partnerId}" in the configuration (partners/*.yaml ids: ${[...config.partners.keys()].join(', ')}).`,
    );
  const displayName = (u.displayName ?? username).trim();
  if (!displayName || displayName.length > 200 || /[\u0000-\u001f]/.test(displayName))
    throw new GatewayError('GW_PORTAL_USER', '--name must be 1-200 characters without control characters.');
  return { username, displayName, role: u.role, partnerId: u.partnerId ?? null };
}

/** A password for a user who was given none: 24 random characters, shown once. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** A password a person chose: long enough that the lockout, not guessing, is the limit. */
export function checkPassword(password: string): void {
  if (password.length < 12 || password.length > 1024)
    throw new GatewayError('GW_PORTAL_USER', 'A portal password has 12 to 1024 characters (or give none on stdin to have one generated).');
}

export async function addUser(knex: Knex, u: ReturnType<typeof checkNewUser>, password: string, now: Date): Promise<PortalUser> {
  checkPassword(password);
  const row = { username: u.username, display_name: u.displayName, role: u.role, partner_id: u.partnerId };
  const inserted = await knex('portal_users')
    .insert({ ...row, password_hash: await hashPassword(password), created_at: now, updated_at: now })
    .onConflict('username')
    .ignore()
    .returning('*');
  if (!inserted[0]) throw new GatewayError('GW_PORTAL_USER', `A user "${u.username}" exists already; \`gateway users passwd\` sets a new password.`);
  return userOf(inserted[0]);
}

export async function setPassword(knex: Knex, username: string, password: string, now: Date): Promise<PortalUser> {
  checkPassword(password);
  const hash = await hashPassword(password);
  return one(
    username,
    await knex('portal_users')
      // Only local users have passwords; an OIDC user (decision 0025) signs in at its provider.
      .where({ username: normalUsername(username), source: 'local' })
      .update({ password_hash: hash, updated_at: now })
      .returning('*'),
  );
}

/** Disables a user; their sessions are ended by the caller in the same transaction. */
export async function disableUser(db: Knex | Knex.Transaction, username: string, now: Date): Promise<PortalUser> {
  return one(
    username,
    await db('portal_users')
      .where({ username: normalUsername(username) })
      .update({ disabled: true, updated_at: now })
      .returning('*'),
  );
}

export async function recordSignIn(knex: Knex, id: string, now: Date): Promise<void> {
  await knex('portal_users').where({ id }).update({ last_sign_in_at: now });
}

export async function findUser(knex: Knex, username: string): Promise<(PortalUser & { passwordHash: string }) | undefined> {
  const row = await knex('portal_users')
    .where({ username: normalUsername(username) })
    .first();
  return row ? { ...userOf(row), passwordHash: row.password_hash as string } : undefined;
}

export async function listUsers(knex: Knex): Promise<PortalUser[]> {
  return (await knex('portal_users').orderBy('username')).map(userOf);
}

// Checked against when the username is unknown, so an unknown user costs the same scrypt as a wrong password.
// Made on first use, not at import: the CLI never needs it.
let unknownUserHash: Promise<string> | undefined;

/** True when the password is the user's; an unknown user takes as long as a known one. */
export async function passwordMatches(user: { passwordHash: string } | undefined, password: string): Promise<boolean> {
  const matches = await verifyPassword(password, user?.passwordHash ?? (await (unknownUserHash ??= hashPassword(generatePassword()))));
  return matches && user !== undefined;
}

function one(username: string, rows: Record<string, unknown>[]): PortalUser {
  if (!rows[0]) throw new GatewayError('GW_PORTAL_USER', `No portal user "${username}"; \`gateway users list\` shows them.`);
  return userOf(rows[0]);
}

function userOf(r: Record<string, unknown>): PortalUser {
  return {
    id: String(r.id),
    username: r.username as string,
    displayName: r.display_name as string,
    role: r.role as Role,
    partnerId: (r.partner_id as string | null) ?? null,
    disabled: r.disabled as boolean,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    lastSignInAt: (r.last_sign_in_at as Date | null) ?? null,
  };
}

/** A person the OIDC provider vouched for (decision 0025): its issuer and subject, a name to show, the role its groups map to. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** preferred_username, else email, else the subject: what audits and pages name the user by, after `oidc:`. */
  handle: string;
  displayName: string;
  role: Role;
}

/**
 * The portal user row of an OIDC identity, made on first sign-in and given the current name and role
 * at each one (unless disabled: a disabled row is returned as it is). Its username starts with
 * `oidc:`, which local usernames cannot, so the two never collide; when another subject holds the
 * handle already, a digest of issuer and subject stands in.
 */
export async function upsertOidcUser(knex: Knex, id: OidcIdentity, now: Date): Promise<PortalUser> {
  const key = { oidc_issuer: id.issuer, oidc_subject: id.subject };
  const fields = { display_name: id.displayName, role: id.role, updated_at: now };
  const updated = await knex('portal_users').where(key).andWhere({ disabled: false }).update(fields).returning('*');
  if (updated[0]) return userOf(updated[0]);
  const digest = createHash('sha256').update(`${id.issuer}\n${id.subject}`).digest('hex').slice(0, 24);
  for (const username of [`oidc:${oidcHandle(id.handle)}`, `oidc:${digest}`]) {
    // DO NOTHING on any conflict: another replica made this subject's row a moment ago, or another subject holds the name.
    const row = { ...key, ...fields, username, source: 'oidc', password_hash: null, partner_id: null, created_at: now };
    const inserted = await knex('portal_users').insert(row).onConflict().ignore().returning('*');
    const existing = inserted[0] ?? (await knex('portal_users').where(key).first());
    if (existing) return userOf(existing);
  }
  throw new GatewayError('GW_PORTAL_USER', `No username free for OIDC subject ${id.subject}.`);
}

/** A handle as a username: lower case, no control characters or spaces, at most 100 characters. */
function oidcHandle(handle: string): string {
  return normalUsername(handle)
    .replace(/[\u0000-\u0020\u007f]/g, '_')
    .slice(0, 100);
}
