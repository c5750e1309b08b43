import type { PartnerActivity } from '../../pipeline/partner-activity.js';
import type { ChecklistItem, Lifecycle } from '../../pipeline/partner-lifecycle.js';
import type { PortalPrincipal } from '../../security/portal-sign-in.js';
import type { PartnerProfile, PartnerState } from '../../types.js';
import { PARTNER_TEMPLATES } from '../../config/partner-templates.js';
import { esc, page, when } from './portal-pages.js';

/** The partner pages (issue 19): where each supplier stands, for partner managers and admins. Plain HTML, like the rest. */

export const PARTNERS_NAV = `<nav aria-label="Partner pages"><a href="/portal/">Home</a><a href="/portal/partners">Partners</a></nav>`;

const STYLE = `<style>ol.raw{font-family:ui-monospace,monospace;font-size:.85rem;background:#f6f6f6;padding:.5rem 0 .5rem 4rem;overflow-x:auto}
ol.raw li{white-space:pre}.notice{border-left:4px solid #2e7d32;padding:.5rem 1rem;background:#edf7ed}ul.checklist{list-style:none;padding-left:0}</style>`;

export interface PartnerRow {
  profile: Readonly<PartnerProfile>;
  lifecycle: Lifecycle;
  activity: PartnerActivity | undefined;
}

const percent = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');

/** Which state applies and where it comes from, so the file and the database never disagree silently. */
export function stateInWords(l: Lifecycle): string {
  if (l.applies === 'yaml' && l.database === null) return `${l.state} (from the profile; the database has no state for it yet)`;
  if (l.applies === 'yaml') return `${l.state} (the profile's suspension wins over the database's ${l.database})`;
  return `${l.state} (from the database; the profile says ${l.yaml})`;
}

export function partnersPage(rows: readonly PartnerRow[]): string {
  const body = rows.map(({ profile: p, lifecycle: l, activity: a }) => {
    const types = [...new Set(p.inbound.map((i) => i.type))];
    return `<tr><td><a href="/portal/partners/${esc(p.id)}">${esc(p.name)}</a> <code>${esc(p.id)}</code></td><td>${esc(stateInWords(l))}</td>
<td>${esc(p.channels.join(', '))}</td><td>${esc(types.join(', '))}</td><td>${a?.lastMessageAt ? `${when(a.lastMessageAt)} UTC` : 'none yet'}</td>
<td>${percent(a?.rejected30d ?? 0, a?.received30d ?? 0)} of ${a?.received30d ?? 0}</td><td>${a?.openExceptions ?? 0}</td><td>${a?.deadLetters ?? 0}</td></tr>`;
  });
  return page(
    'Partners',
    `${STYLE}${PARTNERS_NAV}
<h1>Partners</h1>
<p><a href="/portal/partners/new">New partner from a template</a></p>
<div class="scroll"><table><caption>Every partner in partners/*.yaml; the state that applies and where it comes from</caption>
<thead><tr><th scope="col">Partner</th><th scope="col">State</th><th scope="col">Channels</th><th scope="col">Sends</th><th scope="col">Last message</th>\
<th scope="col">Rejected, 30 days</th><th scope="col">Open exceptions</th><th scope="col">Dead letters</th></tr></thead>
<tbody>
${body.join('\n')}
</tbody></table></div>`,
    { wide: true },
  );
}

export interface PartnerView {
  principal: PortalPrincipal;
  profile: Readonly<PartnerProfile>;
  lifecycle: Lifecycle;
  checklist: readonly ChecklistItem[];
  file: { path: string; text: string } | undefined;
  mappings: readonly { id: string; type: string; version: number; file: string }[];
  credentials: readonly {
    kind: string;
    ref: string;
    state: string;
    source: string;
    scopes: readonly string[] | null;
    expiresAt: Date | null;
    lastUsedAt: Date | null;
  }[];
  done?: string;
}

const MOVES: readonly PartnerState[] = ['onboarding', 'testing', 'suspended'];

function csrfField(v: PartnerView): string {
  return `<input type="hidden" name="csrf" value="${esc(v.principal.session.csrfToken)}">`;
}

function confirmBox(id: string, what: string): string {
  return `<p><input type="checkbox" id="${id}" name="confirm" value="yes" required> \
<label for="${id}" style="display:inline">I confirm: ${esc(what)}</label></p>`;
}

function actions(v: PartnerView): string {
  const base = `/portal/partners/${esc(v.profile.id)}`;
  const moves = MOVES.filter((s) => s !== v.lifecycle.state)
    .map((s) => `<option value="${s}">${s}</option>`)
    .join('');
  return `<h2>Actions</h2>
<form method="post" action="${base}/state">${csrfField(v)}
<label for="to">Move to</label><select id="to" name="state">${moves}</select>
${confirmBox('confirm-state', `move ${v.profile.id} to the state chosen`)}<button type="submit">Move</button></form>
<form method="post" action="${base}/approval">${csrfField(v)}
<label for="approvedBy">Approved by (the person's name)</label><input id="approvedBy" name="approvedBy" required>
<button type="submit">Record the approval</button></form>
<form method="post" action="${base}/go-live">${csrfField(v)}
${confirmBox('confirm-live', `${v.profile.id} goes live: its documents go to production routes from now on`)}<button type="submit">Go live</button></form>`;
}

function checklistSection(items: readonly ChecklistItem[]): string {
  const rows = items.map((i) => `<li>${i.done ? '[x] done' : '[ ] missing'}: <strong>${esc(i.item)}</strong>, ${esc(i.detail)}</li>`);
  return `<h2>Onboarding checklist</h2>\n<ul class="checklist">${rows.join('\n')}</ul>`;
}

function fileSection(file: PartnerView['file']): string {
  if (!file) return '<h2>Profile</h2>\n<p>The profile file could not be read.</p>';
  const lines = file.text.replace(/\n$/, '').split('\n');
  return `<h2>Profile</h2>
<p>From <code>${esc(file.path)}</code>, the source of the configuration (the database holds only the lifecycle). Line numbers as in the file.</p>
<ol class="raw">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ol>`;
}

function tables(v: PartnerView): string {
  const maps = v.mappings.map(
    (m) => `<tr><td><code>${esc(m.id)}</code></td><td>${esc(m.type)}</td><td>${m.version}</td><td><code>${esc(m.file)}</code></td></tr>`,
  );
  const creds = v.credentials.map(
    (c) =>
      `<tr><td>${esc(c.kind)}</td><td><code>${esc(c.ref)}</code></td><td>${esc(c.state)}</td><td>${esc(c.source)}</td>\
<td>${esc((c.scopes ?? []).join(' '))}</td>\
<td>${c.expiresAt ? `${when(c.expiresAt)} UTC` : 'never'}</td><td>${c.lastUsedAt ? `${when(c.lastUsedAt)} UTC` : 'not seen'}</td></tr>`,
  );
  return `<h2>Mapping profiles</h2>
<div class="scroll"><table><thead><tr><th scope="col">Profile</th><th scope="col">Document</th><th scope="col">Version</th>\
<th scope="col">File</th></tr></thead>
<tbody>${maps.join('\n')}</tbody></table></div>
<h2>Credentials</h2>
<div class="scroll"><table><thead><tr><th scope="col">Kind</th><th scope="col">Reference</th><th scope="col">State</th><th scope="col">Source</th>\
<th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Last used</th></tr></thead>
<tbody>${creds.length ? creds.join('\n') : '<tr><td colspan="7">None.</td></tr>'}</tbody></table></div>`;
}

export function partnerPage(v: PartnerView): string {
  const l = v.lifecycle;
  const done = v.done ? `<p class="notice" role="status">${esc(v.done)}</p>\n` : '';
  return page(
    v.profile.name,
    `${STYLE}${PARTNERS_NAV}
<h1>${esc(v.profile.name)} <code>${esc(v.profile.id)}</code></h1>
${done}<dl>
<dt>State</dt><dd id="state">${esc(stateInWords(l))}</dd>
<dt>In testing since</dt><dd>${l.testingSince && l.testingSince.getTime() > 0 ? `${when(l.testingSince)} UTC` : '–'}</dd>
<dt>Live since</dt><dd>${l.liveSince ? `${when(l.liveSince)} UTC` : '–'}</dd>
<dt>Approval</dt><dd>${l.approval ? `${esc(l.approval.by)}, ${when(l.approval.at)} UTC` : 'none yet'}</dd>
<dt>Channels</dt><dd>${esc(v.profile.channels.join(', '))}</dd>
</dl>
${checklistSection(v.checklist)}
${actions(v)}
${tables(v)}
${fileSection(v.file)}`,
    { wide: true },
  );
}

export function newPartnerPage(p: PortalPrincipal, available: boolean): string {
  const options = Object.entries(PARTNER_TEMPLATES).map(([key, t]) => `<option value="${esc(key)}">${esc(t.label)}</option>`);
  const form = available
    ? `<form method="post" action="/portal/partners/new"><input type="hidden" name="csrf" value="${esc(p.session.csrfToken)}">
<label for="id">Partner id (its file name: lower-case letters, digits, dashes)</label><input id="id" name="id" required pattern="[a-z0-9][a-z0-9-]{1,62}">
<label for="name">Name</label><input id="name" name="name" required maxlength="200">
<label for="template">Template</label><select id="template" name="template">${options.join('')}</select>
<label for="erpUrl">Production ERP URL (its documents go there once it is live)</label><input id="erpUrl" name="erpUrl" type="url" required>
<button type="submit">Create the partner and issue its API key</button></form>`
    : '<p>This gateway was started without the folders a new partner is written to.</p>';
  return page(
    'New partner',
    `${PARTNERS_NAV}
<h1>New partner</h1>
<p>Writes <code>partners/&lt;id&gt;.yaml</code> and its mapping profile from the template (state <strong>onboarding</strong>: its documents \
go to a test file drop until it is live), reloads, and issues its API key, shown once.</p>
${form}`,
  );
}

export function createdPage(id: string, keyRef: string, secret: string): string {
  return page(
    'Partner created',
    `${PARTNERS_NAV}
<h1>Partner ${esc(id)} created</h1>
<p class="notice" role="status">Its files are written and loaded; it is in <strong>onboarding</strong>.</p>
<p>Its API key <code>${esc(keyRef)}</code>, shown once (only its hash is kept): give it to the supplier.</p>
<pre id="secret">${esc(secret)}</pre>
<p><a href="/portal/partners/${esc(id)}">Open ${esc(id)}</a></p>`,
  );
}
