import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { audit } from './audit.js';
import { cliActor } from './creds-cli.js';
import { endUserSessions } from './portal-sessions.js';
import { addUser, checkNewUser, disableUser, generatePassword, listUsers, ROLES, setPassword, type PortalUser } from './users.js';

export const USERS_USAGE = `  users add <username> --role R [--partner P] [--name N]
                                     a portal user; the password is read from stdin, or generated and printed
  users passwd <username>            a new password (stdin, or generated and printed); ends the user's sessions
  users disable <username>           the user can no longer sign in; ends their sessions
  users list                         every portal user with role, partner and last sign-in
  roles: ${ROLES.join(', ')} (supplier needs --partner)`;

export interface UsersContext {
  knex: Knex;
  config: GatewayConfig;
  out: (s: string) => void;
  /** What was piped on stdin ('' when nothing or a terminal): the password, if given. */
  readStdin: () => Promise<string>;
}

type Values = Record<string, string | undefined>;

/** `gateway users …`: returns the exit code (2 for a usage error). */
export async function usersCommand([sub, username]: string[], v: Values, ctx: UsersContext): Promise<number> {
  if (sub === 'list') {
    for (const u of await listUsers(ctx.knex)) ctx.out(line(u));
    return 0;
  }
  if (!username) return 2;
  switch (sub) {
    case 'add':
      return add(username, v, ctx);
    case 'passwd':
      return passwd(username, ctx);
    case 'disable':
      return disable(username, ctx);
  }
  return 2;
}

async function add(username: string, v: Values, ctx: UsersContext): Promise<number> {
  if (!v.role) throw new GatewayError('GW_PORTAL_USER', `users add needs --role (${ROLES.join(', ')}).`);
  const fields = checkNewUser(ctx.config, { username, role: v.role, partnerId: v.partner, displayName: v.name });
  const { password, generated } = await passwordFrom(ctx);
  const user = await withAudit(ctx, 'portal.user.add', fields.username, () => addUser(ctx.knex, fields, password, new Date()), {
    role: fields.role,
    partner: fields.partnerId,
  });
  ctx.out(line(user));
  if (generated) ctx.out(`\npassword (shown once; only its scrypt hash is kept):\n${password}`);
  return 0;
}

async function passwd(username: string, ctx: UsersContext): Promise<number> {
  const { password, generated } = await passwordFrom(ctx);
  const user = await withAudit(ctx, 'portal.user.passwd', username, async () => {
    const u = await setPassword(ctx.knex, username, password, new Date());
    // Whoever knew the old password may hold a session: a new password ends them.
    return { ...u, sessionsEnded: await endUserSessions(ctx.knex, u.id) };
  });
  ctx.out(`${line(user)}  (${user.sessionsEnded} session(s) ended)`);
  if (generated) ctx.out(`\npassword (shown once; only its scrypt hash is kept):\n${password}`);
  return 0;
}

async function disable(username: string, ctx: UsersContext): Promise<number> {
  const user = await withAudit(ctx, 'portal.user.disable', username, () =>
    ctx.knex.transaction(async (trx) => {
      const u = await disableUser(trx, username, new Date());
      return { ...u, sessionsEnded: await endUserSessions(trx, u.id) };
    }),
  );
  ctx.out(`${line(user)}  (${user.sessionsEnded} session(s) ended)`);
  return 0;
}

/** Runs a change and audits it, as done or as refused with the reason. */
async function withAudit<T>(ctx: UsersContext, action: string, username: string, change: () => Promise<T>, details: Record<string, unknown> = {}): Promise<T> {
  const entry = { ...cliActor(), action, target: `portal-user:${username.toLowerCase()}` };
  try {
    const result = await change();
    await audit(ctx.knex, { ...entry, outcome: 'ok', details });
    return result;
  } catch (err) {
    await audit(ctx.knex, { ...entry, outcome: 'denied', details: { ...details, error: (err as Error).message } }).catch(() => undefined);
    throw err;
  }
}

async function passwordFrom(ctx: UsersContext): Promise<{ password: string; generated: boolean }> {
  const given = (await ctx.readStdin()).replace(/\r?\n$/, '');
  return given ? { password: given, generated: false } : { password: generatePassword(), generated: true };
}

function line(u: PortalUser): string {
  const last = u.lastSignInAt ? `last sign-in ${u.lastSignInAt.toISOString()}` : 'never signed in';
  const state = u.disabled ? 'disabled' : 'active  ';
  return `${u.username.padEnd(24)} ${u.role.padEnd(16)} ${(u.partnerId ?? '-').padEnd(16)} ${state} ${last}  ${JSON.stringify(u.displayName)}`;
}
