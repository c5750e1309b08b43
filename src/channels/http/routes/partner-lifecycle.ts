import Router from '@koa/router';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { approve, checklist, goLive, moveState, readLifecycle, type Lifecycle, type PartnerCredentials } from '../../../pipeline/partner-lifecycle.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { Role } from '../../../security/users.js';
import type { PartnerProfile, PartnerState } from '../../../types.js';
import { actorOf, type ServiceKeys } from '../auth.js';
import { readJson } from '../request.js';
import { staffCaller } from './ops.js';

export interface PartnersDeps {
  knex: Knex;
  config: () => GatewayConfig;
  adminApiKeys: ServiceKeys;
  access: PortalAccess;
  credentials: PartnerCredentials;
}

/** Portal roles that may read and move a partner's lifecycle. */
export const PARTNER_ROLES: readonly Role[] = ['partner-manager', 'admin'];
const TARGET_STATES: readonly PartnerState[] = ['onboarding', 'testing', 'suspended', 'live'];

/**
 * The partner API (`/partners/v1/…`, decision 0034): a partner's lifecycle and onboarding checklist,
 * its moves, the named approval and the go-live. Callers as the operations API's, with the
 * partner-manager or admin role; every change is audited with the caller.
 */
export function partnerLifecycleRoutes(d: PartnersDeps): Router {
  const router = new Router({ prefix: '/partners/v1' });
  router.use(staffCaller(d, PARTNER_ROLES, 'partner API'));
  const partnerOf = (id: string): PartnerProfile => {
    const p = d.config().partners.get(id);
    if (!p) throw new GatewayError('GW_NOT_FOUND', `No partner ${id} in the partner profiles.`);
    return p;
  };
  const view = async (p: PartnerProfile, lifecycle: Lifecycle) => ({
    id: p.id,
    name: p.name,
    lifecycle,
    checklist: await checklist(d.knex, d.config(), p, lifecycle, d.credentials),
  });

  router.get('/whoami', (ctx) => {
    const session = ctx.state.opsSession as { csrfToken: string } | undefined;
    ctx.body = { actor: actorOf(ctx).actor, ...(session ? { csrfToken: session.csrfToken } : {}) };
  });
  router.get('/partners', async (ctx) => {
    const all = [...d.config().partners.values()];
    ctx.body = { partners: await Promise.all(all.map(async (p) => ({ id: p.id, name: p.name, lifecycle: await readLifecycle(d.knex, p) }))) };
  });
  router.get('/partners/:id', async (ctx) => {
    const p = partnerOf(ctx.params.id as string);
    ctx.body = await view(p, await readLifecycle(d.knex, p));
  });
  router.post('/partners/:id/state', async (ctx) => {
    const p = partnerOf(ctx.params.id as string);
    const to = (await readJson(ctx)).state;
    if (!TARGET_STATES.includes(to as PartnerState))
      throw new GatewayError('GW_REQUEST_INVALID', `Send {"state": one of ${TARGET_STATES.join(', ')}}; got ${JSON.stringify(to)}.`);
    ctx.body = await view(p, await moveState(d.knex, p, to as PartnerState, actorOf(ctx)));
  });
  router.post('/partners/:id/approval', async (ctx) => {
    const p = partnerOf(ctx.params.id as string);
    const by = (await readJson(ctx)).approvedBy;
    ctx.body = await view(p, await approve(d.knex, p, typeof by === 'string' ? by : '', actorOf(ctx)));
  });
  router.post('/partners/:id/go-live', async (ctx) => {
    const p = partnerOf(ctx.params.id as string);
    const { lifecycle } = await goLive(d.knex, d.config(), p, actorOf(ctx), d.credentials);
    ctx.body = await view(p, lifecycle);
  });
  return router;
}
