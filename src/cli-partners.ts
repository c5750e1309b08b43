import path from 'node:path';
import type { Knex } from 'knex';
import { ConfigErrors, countLine } from './config/config-errors.js';
import type { GatewayConfig } from './config/load.js';
import { GatewayError, isGatewayError } from './errors.js';
import { approve, checklist, goLive, type Lifecycle, moveState, type PartnerCredentials, readLifecycle } from './pipeline/partner-lifecycle.js';
import type { Actor } from './security/credentials.js';
import type { PartnerState } from './types.js';

export const PARTNERS_USAGE = `  partners state <id>                where a partner stands (profile and database) and its onboarding checklist
  partners state <id> <state>        move it: onboarding, testing, suspended; live is the go-live (checklist complete)
  partners approve <id> --name <who> record the named person's approval of its go-live`;

export interface PartnersContext {
  knex: Knex;
  config: GatewayConfig;
  credentials: PartnerCredentials;
  actor: Actor;
  out: (s: string) => void;
}

const STATES: readonly PartnerState[] = ['onboarding', 'testing', 'live', 'suspended'];

/** `gateway partners state|approve …` (decision 0034); 2 when the arguments fit no command. */
export async function partnersCommand([sub, id, to]: string[], name: string | undefined, ctx: PartnersContext): Promise<number> {
  if ((sub !== 'state' && sub !== 'approve') || !id) return 2;
  const partner = ctx.config.partners.get(id);
  if (!partner) throw new GatewayError('GW_NOT_FOUND', `No partner ${id} in the partner profiles.`);
  let lifecycle: Lifecycle;
  if (sub === 'approve') lifecycle = await approve(ctx.knex, partner, name ?? '', ctx.actor);
  else if (to === undefined) lifecycle = await readLifecycle(ctx.knex, partner);
  else if (!STATES.includes(to as PartnerState)) return 2;
  else if (to === 'live' && (await readLifecycle(ctx.knex, partner)).state === 'testing')
    lifecycle = (await goLive(ctx.knex, ctx.config, partner, ctx.actor, ctx.credentials)).lifecycle;
  else lifecycle = await moveState(ctx.knex, partner, to as PartnerState, ctx.actor);
  ctx.out(`${id}: ${lifecycle.state} (applies: ${lifecycle.applies}; profile ${lifecycle.yaml}, database ${lifecycle.database ?? 'none'})`);
  for (const i of await checklist(ctx.knex, ctx.config, partner, lifecycle, ctx.credentials)) ctx.out(`  [${i.done ? 'x' : ' '}] ${i.item}: ${i.detail}`);
  return 0;
}

/**
 * `gateway partners validate`: every problem of every file under partners/ and mappings/, one a
 * line as `file:line:column: what`, then how many; 0 when there is none. File names under the
 * working folder are shown relative to it, as the person typed them.
 */
export async function validateCommand(load: () => Promise<GatewayConfig>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let config: GatewayConfig;
  try {
    config = await load();
  } catch (e) {
    if (!isGatewayError(e) || !e.code.startsWith('GW_CONFIG_')) throw e;
    const errors = e instanceof ConfigErrors ? e.errors : [e];
    const here = `${process.cwd()}${path.sep}`;
    for (const problem of errors) err(problem.message.replaceAll(here, ''));
    err(`${countLine(errors)} (${[...new Set(errors.map((p) => p.code))].join(', ')})`);
    return 1;
  }
  out(`ok: ${config.partners.size} partner profile(s), ${config.mappings.size} mapping profile(s)`);
  return 0;
}
