import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { PARTNER_ID, PARTNER_TEMPLATES } from '../../../config/partner-templates.js';
import { GatewayError } from '../../../errors.js';
import { partnerActivity } from '../../../pipeline/partner-activity.js';
import { approve, checklist, goLive, moveState, type PartnerCredentials, readLifecycle } from '../../../pipeline/partner-lifecycle.js';
import { audit } from '../../../security/audit.js';
import type { Actor, CredentialStore } from '../../../security/credentials.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { PartnerProfile, PartnerState } from '../../../types.js';
import { portalPrincipalOf, portalUser, readConfirmedForm } from '../portal-auth.js';
import { createdPage, newPartnerPage, type PartnerView, partnerPage, partnersPage } from '../portal-partner-pages.js';
import { credentialView } from './admin.js';
import { PARTNER_ROLES } from './partner-lifecycle.js';
import { pageErrors, pageHeaders } from './portal.js';

export interface PartnerPagesDeps {
  knex: Knex;
  config: () => GatewayConfig;
  credentials: PartnerCredentials;
  /** Where the partner profiles are read from: a partner's page shows its file. */
  partnersDir: string;
  /** A new partner from a template: its files are written here, then the gateway reloads and its API key is issued. */
  create?: { mappingsDir: string; reload: () => Promise<void>; store: CredentialStore };
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
  router.get('/new', (ctx) => {
    ctx.type = 'html';
    ctx.body = newPartnerPage(portalPrincipalOf(ctx), Boolean(d.create));
  });
  router.post('/new', async (ctx) => createPartner(ctx, d));
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

/**
 * Writes a new partner's files from a template (profile in `onboarding`, its mapping), reloads, and
 * issues its API key, shown once on the answer. A file that exists already is never overwritten; a
 * configuration that does not load takes the new files away again.
 */
async function createPartner(ctx: Context, d: PartnerPagesDeps): Promise<void> {
  if (!d.create) throw new GatewayError('GW_NOT_FOUND', 'This gateway was started without the files a new partner is written to.');
  const form = await readConfirmedForm(ctx, 'create a partner', false);
  const [id, name, erpUrl] = [form.get('id')?.trim() ?? '', form.get('name')?.trim() ?? '', form.get('erpUrl')?.trim() ?? ''];
  const template = PARTNER_TEMPLATES[form.get('template') ?? ''];
  if (!PARTNER_ID.test(id)) throw new GatewayError('GW_REQUEST_INVALID', 'A partner id is 2-63 lower-case letters, digits or dashes.');
  if (d.config().partners.has(id)) throw new GatewayError('GW_REQUEST_INVALID', `A partner ${id} exists already.`);
  if (!template) throw new GatewayError('GW_REQUEST_INVALID', `Choose a template: ${Object.keys(PARTNER_TEMPLATES).join(', ')}.`);
  if (!name || name.length > 200) throw new GatewayError('GW_REQUEST_INVALID', 'Give the partner a name (1-200 characters).');
  if (!/^https?:\/\/[^\s]+$/.test(erpUrl)) throw new GatewayError('GW_REQUEST_INVALID', "The ERP URL is the production route's http(s) address.");
  const files = template.files({ id, name, erpUrl });
  const written = [path.join(d.create.mappingsDir, id), path.join(d.partnersDir, `${id}.yaml`)];
  try {
    await mkdir(written[0] as string);
    for (const [file, text] of Object.entries(files.mappings)) await writeFile(path.join(written[0] as string, file), text, { flag: 'wx' });
    await writeFile(written[1] as string, files.partner, { flag: 'wx' });
    await d.create.reload();
    if (!d.config().partners.has(id)) throw new GatewayError('GW_CONFIG_INVALID', `The new profile ${id} did not load.`);
  } catch (err) {
    // The folder or file that was there already stays; only what this request wrote goes.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') for (const f of written) await rm(f, { recursive: true, force: true });
    throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? new GatewayError('GW_REQUEST_INVALID', `Files for ${id} exist already.`) : err;
  }
  const issued = await d.create.store.issue({ kind: 'api-key', partnerId: id }, actorOf(ctx));
  await audit(d.knex, { ...actorOf(ctx), action: 'partner.create', target: `partner:${id}`, outcome: 'ok', details: { template: form.get('template') } });
  ctx.set('cache-control', 'no-store');
  ctx.status = 201;
  ctx.type = 'html';
  ctx.body = createdPage(id, issued.credential.ref, issued.secret ?? '');
}
