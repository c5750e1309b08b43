import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { audit } from './audit.js';
import { addUser, checkNewUser, findUser, type Role } from './users.js';

/**
 * The portal's demo users (`gateway start --demo-users`, which `npm start` passes): one per role,
 * with the passwords printed in README.md. For a local demo only: anyone who reads the README knows
 * them. A user that exists already is left as it is (its password is never reset), and a supplier
 * whose partner is not configured is skipped.
 */
export const DEMO_USERS: readonly { username: string; role: Role; partnerId?: string; displayName: string; password: string }[] = [
  { username: 'sue', role: 'supplier', partnerId: 'acme-supply', displayName: 'Sue (ACME Supply, demo)', password: 'demo-supplier-acme' },
  { username: 'nils', role: 'supplier', partnerId: 'northwind', displayName: 'Nils (Northwind, demo)', password: 'demo-supplier-northwind' },
  { username: 'olga', role: 'operations', displayName: 'Olga (operations, demo)', password: 'demo-operations' },
  { username: 'pia', role: 'partner-manager', displayName: 'Pia (partner manager, demo)', password: 'demo-partner-manager' },
  { username: 'sid', role: 'security', displayName: 'Sid (security, demo)', password: 'demo-security-team' },
  { username: 'ada', role: 'admin', displayName: 'Ada (admin, demo)', password: 'demo-administrator' },
];

/** Adds the demo users that are missing; answers the usernames added. */
export async function addDemoUsers(knex: Knex, config: GatewayConfig, now = new Date()): Promise<string[]> {
  const added: string[] = [];
  for (const u of DEMO_USERS) {
    if (u.partnerId && !config.partners.has(u.partnerId)) continue;
    if (await findUser(knex, u.username)) continue;
    await addUser(knex, checkNewUser(config, u), u.password, now);
    await audit(knex, {
      actor: 'system:demo',
      action: 'portal.user.add',
      target: `portal-user:${u.username}`,
      outcome: 'ok',
      details: { role: u.role, partner: u.partnerId ?? null, demo: true },
    });
    added.push(u.username);
  }
  return added;
}
