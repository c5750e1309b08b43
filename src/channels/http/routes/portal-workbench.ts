import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { listProfiles, type ProfileEntry, readProfileText, tryProfileText, versionOf, withVersion, writeProfileText } from '../../../config/profile-files.js';
import { GatewayError } from '../../../errors.js';
import { diffTryouts, profileSamples, recentMessages, SAMPLE_MAX_BYTES, sampleBytes, sourceLines, tryProfile } from '../../../pipeline/workbench.js';
import { audit } from '../../../security/audit.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { Role } from '../../../security/users.js';
import { portalPrincipalOf, portalUser, requireFormToken } from '../portal-auth.js';
import { type ProfilePageView, profileListPage, profilePage, type SampleDiff } from '../portal-workbench-pages.js';
import { readUploadForm, type UploadForm } from '../upload-form.js';
import { pageErrors, pageHeaders } from './portal.js';

/** What the workbench needs beyond the portal: the files, a loader that can stand a text in for a profile, and the reload. */
export interface WorkbenchDeps {
  knex: Knex;
  config: () => GatewayConfig;
  access: PortalAccess;
  mappingsDir: string;
  /** Loads partners/ and mappings/ with the given files standing in for the profiles of their ids. */
  load: (replace: string[]) => Promise<GatewayConfig>;
  /** The gateway's reload (SIGHUP's, the config watcher's); throws and keeps the running configuration when it fails. */
  reload: () => Promise<void>;
}

const WORKBENCH_ROLES: readonly Role[] = ['partner-manager', 'admin'];
/** The partner's recent messages a diff runs on besides the profile's samples. */
const RECENT_IN_DIFF = 3;
/** Recent messages offered to pick from. */
const RECENT_OFFERED = 10;

/** The workbench pages may run the gateway's own editor script, and nothing else. */
const WORKBENCH_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/** The mapping workbench in the portal (decision 0035), for partner managers and admins. */
export function workbenchRoutes(d: WorkbenchDeps): Router {
  const router = new Router();
  router.get('/portal/assets/workbench.js', serveEditor);
  const pages = new Router({ prefix: '/portal/mappings' });
  pages.use(pageHeaders, pageErrors, portalUser(d.access, WORKBENCH_ROLES), async (ctx, next) => {
    ctx.set('content-security-policy', WORKBENCH_CSP);
    await next();
  });
  pages.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = profileListPage(listProfiles(d.config()));
  });
  pages.get('/:folder/:name', async (ctx) => {
    const profile = profileOf(d, ctx);
    const { text, hash } = await readProfileText(profile.file);
    const saved = Number(ctx.query.saved);
    await render(ctx, d, { profile, text, hash, ...(saved > 0 ? { saved } : {}) });
  });
  pages.post('/:folder/:name', async (ctx) => postRoute(ctx, d, profileOf(d, ctx)));
  router.use(pages.routes());
  return router;
}

/** The bundle built by scripts/build-assets.mjs into dist/assets/, found from the package's root (from src/ under tsx, or dist/src/). */
const EDITOR_FILE = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'assets', 'workbench.js');
})();

async function serveEditor(ctx: Context): Promise<void> {
  const code = await readFile(EDITOR_FILE).catch(() => undefined);
  if (!code) throw new GatewayError('GW_NOT_FOUND', 'The editor script is not built: run npm run build. The workbench works without it.');
  // Revalidated on every page, answered 304 while the bundle is the same.
  const etag = `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"`;
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('cache-control', 'no-cache');
  ctx.set('etag', etag);
  if (ctx.get('if-none-match') === etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'text/javascript';
  ctx.body = code;
}

/** The profile a URL names (the same 404 for any other). */
function profileOf(d: WorkbenchDeps, ctx: Context): ProfileEntry {
  const id = `${ctx.params.folder}/${ctx.params.name}`;
  const profile = listProfiles(d.config()).find((p) => p.id === id);
  if (!profile) throw new GatewayError('GW_NOT_FOUND', `There is no mapping profile ${id}.`);
  return profile;
}

type PageParts = Omit<ProfilePageView, 'csrfToken' | 'samples'>;

async function render(ctx: Context, d: WorkbenchDeps, v: PageParts): Promise<void> {
  const config = d.config();
  const samples = [...(await profileSamples(d.mappingsDir, config, v.profile.id)), ...(await recentMessages(d.knex, config, v.profile.id, RECENT_OFFERED))];
  ctx.type = 'html';
  ctx.body = profilePage({ ...v, samples, csrfToken: portalPrincipalOf(ctx).session.csrfToken });
}

async function postRoute(ctx: Context, d: WorkbenchDeps, profile: ProfileEntry): Promise<void> {
  const principal = portalPrincipalOf(ctx);
  const form = await readUploadForm(ctx, SAMPLE_MAX_BYTES, 'the workbench', (f) => requireFormToken(principal.session.csrfToken, f.get('csrf')));
  requireFormToken(principal.session.csrfToken, form.fields.get('csrf'));
  const f = form.fields;
  const base: PageParts = {
    profile,
    text: (f.get('text') ?? '').replace(/\r\n/g, '\n'),
    hash: f.get('hash') ?? '',
    picked: f.get('pick') ?? undefined,
    pasted: f.get('pasted') ?? undefined,
  };
  const action = f.get('action');
  if (action === 'save') return saveRoute(ctx, d, base);
  const checked = await tryProfileText(base.text, profile.id, path.basename(profile.file), d.load);
  if ('error' in checked) {
    ctx.status = 422;
    return render(ctx, d, { ...base, textError: checked.error });
  }
  if (action === 'diff') return render(ctx, d, { ...base, diffs: await diffSamples(d, base, form, checked.config) });
  const sample = await chosenSample(d, base, form);
  if (!sample) {
    ctx.status = 422;
    return render(ctx, d, { ...base, refusal: { code: 'GW_REQUEST_INVALID', message: 'Choose a sample, paste one or upload a file to try.' } });
  }
  const tryout = tryProfile(checked.config, profile.id, sample.bytes, sample.name);
  const lines = sourceLines(sample.bytes, checked.config.mappings.get(profile.id)?.source ?? { format: 'json' });
  return render(ctx, d, { ...base, tried: { name: sample.name, lines, output: tryout.output, found: tryout.found } });
}

/** The sample of the form: an uploaded file, else pasted text, else the picked sample or message. */
async function chosenSample(d: WorkbenchDeps, v: PageParts, form: UploadForm): Promise<{ bytes: Buffer; name: string } | undefined> {
  if (form.file?.bytes.length) return { bytes: form.file.bytes, name: form.file.name || 'uploaded file' };
  if (v.pasted?.trim()) return { bytes: Buffer.from(v.pasted, 'utf8'), name: 'pasted sample' };
  if (!v.picked) return undefined;
  const picked = await sampleBytes(d.knex, d.mappingsDir, d.config(), v.profile.id, v.picked);
  if (!picked) throw new GatewayError('GW_NOT_FOUND', `There is no sample ${v.picked} of ${v.profile.id}.`);
  return picked;
}

/** Each sample of the profile, a few recent messages and the form's own sample, run by the active version and by the edited text. */
async function diffSamples(d: WorkbenchDeps, v: PageParts, form: UploadForm, edited: GatewayConfig): Promise<SampleDiff[]> {
  const active = d.config();
  const offered = [...(await profileSamples(d.mappingsDir, active, v.profile.id)), ...(await recentMessages(d.knex, active, v.profile.id, RECENT_IN_DIFF))];
  const samples = [];
  for (const { key, label } of offered) {
    const s = await sampleBytes(d.knex, d.mappingsDir, active, v.profile.id, key);
    if (s) samples.push({ ...s, name: label });
  }
  const own = form.file?.bytes.length || v.pasted?.trim() ? await chosenSample(d, v, form) : undefined;
  if (own) samples.push(own);
  return samples.map((s) => ({
    name: s.name,
    changes: diffTryouts(tryProfile(active, v.profile.id, s.bytes, s.name), tryProfile(edited, v.profile.id, s.bytes, s.name)),
  }));
}

/**
 * Writes the edited text with the version after the file's, once it loads with the rest of the
 * configuration, then reloads the gateway. Refused, with nothing written, when the file changed
 * since the page was opened or the text does not load.
 */
async function saveRoute(ctx: Context, d: WorkbenchDeps, v: PageParts): Promise<void> {
  const principal = portalPrincipalOf(ctx);
  const shownAs = path.basename(v.profile.file);
  const current = await readProfileText(v.profile.file);
  if (current.hash !== v.hash) {
    ctx.status = 409;
    const message =
      `${shownAs} changed on disk since this page was opened (another save, or an edit outside the portal); nothing was saved. ` +
      'Open the profile again to edit its current text.';
    return render(ctx, d, { ...v, refusal: { code: 'GW_WORKBENCH_STALE', message } });
  }
  const version = versionOf(current.text) + 1;
  const checked = await tryProfileText(v.text, v.profile.id, shownAs, d.load);
  const text = 'error' in checked ? v.text : withVersion(v.text, version);
  const final = 'error' in checked ? checked : await tryProfileText(text, v.profile.id, shownAs, d.load);
  if ('error' in final) {
    ctx.status = 422;
    await audit(d.knex, {
      actor: `portal:${principal.username}`,
      action: 'mapping.save',
      target: v.profile.id,
      source: ctx.ip,
      outcome: 'failed',
      details: { error: final.error.message },
    });
    return render(ctx, d, { ...v, textError: { ...final.error, code: 'GW_WORKBENCH_INVALID' } });
  }
  await writeProfileText(v.profile.file, text);
  try {
    await d.reload();
  } catch (err) {
    // The text loaded a moment ago; if the reload still refuses it, the file goes back as it was.
    await writeProfileText(v.profile.file, current.text);
    throw err;
  }
  await audit(d.knex, {
    actor: `portal:${principal.username}`,
    action: 'mapping.save',
    target: v.profile.id,
    source: ctx.ip,
    outcome: 'ok',
    details: { file: v.profile.file, from: v.profile.version, to: version },
  });
  ctx.status = 303;
  ctx.redirect(`/portal/mappings/${v.profile.id}?saved=${version}`);
}
