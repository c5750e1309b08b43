import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { partnerActivity } from '../../../pipeline/partner-activity.js';
import { approve, checklist, goLive, moveState, type PartnerCredentials, readLifecycle } from '../../../pipeline/partner-lifecycle.js';
import type { Actor } from '../../../security/credentials.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { PartnerProfile, PartnerState } from '../../../types.js';
import { portalPrincipalOf, portalUser, readConfirmedForm } from '../portal-auth.js';
import { type PartnerView, partnerPage, partnersPage } from '../portal-partner-pages.js';
import { credentialView } from './admin.js';
import { PARTNER_ROLES } from './partner-lifecycle.js';
import { pageErrors, pageHeaders } from './portal.js';

export interface PartnerPagesDeps {
  knex: Knex;
  config: () => GatewayConfig;
  credentials: PartnerCredentials;
  /** Where the partner profiles are read from: a partner's page shows its file. */
  partnersDir: string;
}

const MOVES: readonly PartnerState[] = ['onboarding', 'testing', 'suspended'];
const DONE: Record<string, string> = { state: 'The state was changed.', approval: 'The approval was recorded.', 'go-live': 'The partner is live.' };

/**
 * The partner pages (issue 19): the list of partners and a partner's page with its profile file,
 * mappings, credentials, onboarding checklist and lifecycle actions, for partner managers and
 * admins. The actions call the same functions as `/partners/v1` (decision 0034), audited as `portal:<user>`.
 */
export function partnerPageRoutes(d: PartnerPagesDeps, access: PortalAccess): Router {
  const router = new Router({ prefix: '/portal/partners' });
  router.use(pageHeaders, pageErrors, portalUser(access, PARTNER_ROLES));
  router.get('/', async (ctx) => {
    const profiles = [...d.config().partners.values()].sort((a, b) => a.id.localeCompare(b.id));
    const activity = await partnerActivity(
      d.knex,
      profiles.map((p) => p.id),
    );
    const rows = await Promise.all(profiles.map(async (p) => ({ profile: p, lifecycle: await readLifecycle(d.knex, p), activity: activity.get(p.id) })));
    ctx.type = 'html';
    ctx.body = partnersPage(rows);
  });
  router.get('/:id', async (ctx) => {
    ctx.type = 'html';
    ctx.body = partnerPage(await viewOf(ctx, d, partnerOf(d, ctx.params.id)));
  });
  router.post('/:id/state', async (ctx) => {
    const p = partnerOf(d, ctx.params.id);
    const form = await readConfirmedForm(ctx, `move ${p.id}`);
    const to = form.get('state') as PartnerState;
    if (!MOVES.includes(to)) throw new GatewayError('GW_REQUEST_INVALID', `Move to one of ${MOVES.join(', ')}; going live is its own step.`);
    await moveState(d.knex, p, to, actorOf(ctx));
    done(ctx, p, 'state');
  });
  router.post('/:id/approval', async (ctx) => {
    const p = partnerOf(d, ctx.params.id);
    const form = await readConfirmedForm(ctx, `record the approval of ${p.id}`, false);
    await approve(d.knex, p, form.get('approvedBy') ?? '', actorOf(ctx));
    done(ctx, p, 'approval');
  });
  router.post('/:id/go-live', async (ctx) => {
    const p = partnerOf(d, ctx.params.id);
    await readConfirmedForm(ctx, `put ${p.id} live`);
    await goLive(d.knex, d.config(), p, actorOf(ctx), d.credentials);
    done(ctx, p, 'go-live');
  });
  return router;
}

const actorOf = (ctx: Context): Actor => ({ actor: `portal:${portalPrincipalOf(ctx).username}`, source: ctx.ip });

function partnerOf(d: PartnerPagesDeps, id: string | undefined): Readonly<PartnerProfile> {
  const p = d.config().partners.get(id ?? '');
  if (!p) throw new GatewayError('GW_NOT_FOUND', `No partner ${id} in the partner profiles.`);
  return p;
}

function done(ctx: Context, p: Readonly<PartnerProfile>, what: string): void {
  ctx.status = 303;
  ctx.redirect(`/portal/partners/${encodeURIComponent(p.id)}?done=${what}`);
}

async function viewOf(ctx: Context, d: PartnerPagesDeps, p: Readonly<PartnerProfile>): Promise<PartnerView> {
  const config = d.config();
  const lifecycle = await readLifecycle(d.knex, p);
  const [items, credentials, file] = await Promise.all([checklist(d.knex, config, p, lifecycle, d.credentials), d.credentials(p.id), profileFile(d, p.id)]);
  const inbound = p.inbound.map((i) => ({ id: i.mapping, type: i.type, profile: config.mappings.get(i.mapping) }));
  const outbound = p.outbound.map((o) => ({ id: o.mapping, type: o.type, profile: config.outbound.get(o.mapping) }));
  const done = typeof ctx.query.done === 'string' ? DONE[ctx.query.done] : undefined;
  return {
    principal: portalPrincipalOf(ctx),
    profile: p,
    lifecycle,
    checklist: items,
    file,
    mappings: [...inbound, ...outbound].flatMap((m) => (m.profile ? [{ id: m.id, type: m.type, version: m.profile.version, file: m.profile.file }] : [])),
    credentials: credentials.map(credentialView),
    ...(done ? { done } : {}),
  };
}

/** The partner's YAML file (its name is its id, `.yaml` or `.yml`). */
async function profileFile(d: PartnerPagesDeps, id: string): Promise<{ path: string; text: string } | undefined> {
  for (const ext of ['.yaml', '.yml']) {
    const file = path.join(d.partnersDir, `${id}${ext}`);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return { path: file, text };
  }
  return undefined;
}
