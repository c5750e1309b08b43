import type { AuditRow } from '../../security/audit.js';
import type { PortalPrincipal } from '../../security/portal-sign-in.js';
import type { credentialView } from './routes/admin.js';
import { esc, page, when } from './portal-pages.js';

/**
 * The security pages (decision 0033): partners' credentials, their expiry and the audit log, for the
 * security and admin roles, over the same functions as the admin API. Plain HTML, no script; every
 * change goes through a form whose confirmation box the server checks too.
 */

/** A credential as the admin API shows it (never a secret or a hash). */
export type CredentialView = ReturnType<typeof credentialView>;

const LINKS: readonly { href: string; label: string }[] = [
  { href: '/portal/security/credentials', label: 'Credentials' },
  { href: '/portal/security/issue', label: 'Issue' },
  { href: '/portal/security/expiring', label: 'Expiring' },
  { href: '/portal/security/audit', label: 'Audit log' },
];

const NAV = `<nav aria-label="Security"><a href="/portal/">Home</a>${LINKS.map((l) => `<a href="${l.href}">${esc(l.label)}</a>`).join('')}</nav>`;

const STYLE = `<style>.notice{border-left:4px solid #2e7d32;padding:.5rem 1rem;background:#edf7ed}
.secret{border:2px solid #b26a00;padding:.5rem 1rem;background:#fff4e5}.secret code{word-break:break-all;font-size:1rem}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0 1rem}form.filters label{margin-top:.5rem}
label.check{display:flex;gap:.5rem;align-items:center}label.check input{width:auto}</style>`;

function securityPage(title: string, body: string): string {
  return page(title, `${STYLE}\n${NAV}\n${body}`, { wide: true });
}

const head = (...columns: string[]) => `<thead><tr>${columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr></thead>`;
/** A table that scrolls inside its box on a narrow screen. */
const scrollTable = (label: string, header: string, rows: string[]) =>
  `<div class="scroll"><table aria-label="${esc(label)}">${header}<tbody>${rows.join('\n')}</tbody></table></div>`;
const csrfField = (p: PortalPrincipal) => `<input type="hidden" name="csrf" value="${esc(p.session.csrfToken)}">`;
const confirmBox = (id: string, words: string) =>
  `<label class="check"><input type="checkbox" name="confirm" value="yes" required id="${id}"> I confirm: ${esc(words)}</label>`;

/** Where a credential is described: `profile` (the partner's YAML file) or `store` (issued at run time). */
const sourceWord = (c: CredentialView) => (c.source === 'yaml' ? 'profile' : 'store');

/** A credential's page (for a redirect); `credentialHref` is the same, escaped for an attribute. */
export const credentialPath = (c: { kind: string; ref: string }) => `/portal/security/credentials/${encodeURIComponent(c.kind)}/${encodeURIComponent(c.ref)}`;
const credentialHref = (c: { kind: string; ref: string }) => esc(credentialPath(c));

function select(id: string, name: string, label: string, options: readonly string[], value: string, anyWord = 'any'): string {
  const opts = ['', ...options].map((o) => `<option value="${esc(o)}"${o === value ? ' selected' : ''}>${o ? esc(o) : anyWord}</option>`).join('');
  return `<label for="${id}">${esc(label)}</label><select id="${id}" name="${name}">${opts}</select>`;
}

export interface CredentialsView {
  partners: readonly string[];
  kinds: readonly string[];
  filter: { partner?: string; kind?: string };
  credentials: CredentialView[];
}

export function credentialsPage(v: CredentialsView): string {
  const form = `<form class="filters" method="get" action="/portal/security/credentials" aria-label="Credential filters">
<div>${select('f-partner', 'partner', 'Partner', v.partners, v.filter.partner ?? '')}</div>
<div>${select('f-kind', 'kind', 'Kind', v.kinds, v.filter.kind ?? '')}</div>
<div><button type="submit">Filter</button></div>
</form>`;
  const rows = v.credentials.map(
    (c) => `<tr><td>${esc(c.partner ?? '(gateway)')}</td><td>${esc(c.kind)}</td><td><a href="${credentialHref(c)}"><code>${esc(c.ref)}</code></a></td>\
<td>${esc(c.state)}</td><td>${esc((c.scopes ?? []).join(' ') || 'all of its kind')}</td><td>${when(c.createdAt)}</td><td>${when(c.expiresAt)}</td>\
<td>${when(c.revokedAt)}</td><td>${when(c.lastUsedAt) || 'not seen'}</td><td>${sourceWord(c)}</td><td>${esc(c.createdBy ?? '')}</td></tr>`,
  );
  const table = rows.length
    ? scrollTable(
        'Credentials',
        head('Partner', 'Kind', 'Reference', 'State', 'Scopes', 'Created', 'Expires', 'Revoked', 'Last used', 'Source', 'Created by'),
        rows,
      )
    : '<p>No credential matches.</p>';
  return securityPage('Credentials', `<h1>Credentials</h1>\n${form}\n${table}`);
}

/** One credential: its details, a rotation of its partner's credentials of its kind, and its revocation. */
export function credentialPage(p: PortalPrincipal, c: CredentialView, notice?: string): string {
  const details = `<dl>
<dt>Kind</dt><dd>${esc(c.kind)}</dd><dt>Reference</dt><dd><code>${esc(c.ref)}</code></dd>
<dt>Partner</dt><dd>${esc(c.partner ?? '(gateway)')}</dd><dt>State</dt><dd>${esc(c.state)}</dd>
<dt>Source</dt><dd>${sourceWord(c)}</dd><dt>Scopes</dt><dd>${esc((c.scopes ?? []).join(' ') || 'all of its kind')}</dd>
<dt>Valid from</dt><dd>${when(c.notBefore)}</dd><dt>Expires</dt><dd>${when(c.expiresAt) || 'never'}</dd>
<dt>Revoked</dt><dd>${when(c.revokedAt) || 'no'}</dd><dt>Last used</dt><dd>${when(c.lastUsedAt) || 'not seen'}</dd>
<dt>Created</dt><dd>${when(c.createdAt)} ${esc(c.createdBy ?? '')}</dd>
</dl>`;
  const ended = c.state === 'revoked' || c.state === 'expired';
  const owner = c.partner ? `partner ${c.partner}` : 'the gateway';
  const rotate = `<h2>Rotate</h2>
<p>Issues a new ${esc(c.kind)} for ${esc(owner)}; every current ${esc(c.kind)} of ${esc(owner)} keeps working until the overlap ends, then stops.</p>
<form aria-label="Rotate" method="post" action="/portal/security/rotate">
${csrfField(p)}
<input type="hidden" name="kind" value="${esc(c.kind)}">
<input type="hidden" name="partner" value="${esc(c.partner ?? '')}">
<label for="overlapSeconds">Overlap in seconds (both work meanwhile; 604800 is a week)</label>
<input id="overlapSeconds" name="overlapSeconds" inputmode="numeric" required value="604800">
${materialFields(c.kind)}
${confirmBox('confirm-rotate', `rotate the ${c.kind} credentials of ${owner}`)}
<button type="submit">Rotate</button>
</form>`;
  const revoke = ended
    ? ''
    : `<h2>Revoke</h2>
<p>Ends this credential at once, in every process.</p>
<form aria-label="Revoke" method="post" action="${credentialHref(c)}/revoke">
${csrfField(p)}
${confirmBox('confirm-revoke', `revoke ${c.kind} ${c.ref} now`)}
<button type="submit">Revoke</button>
</form>`;
  const shown = notice ? `<p class="notice" role="status">${esc(notice)}</p>\n` : '';
  return securityPage(`${c.kind} ${c.ref}`, `<h1>${esc(c.kind)} <code>${esc(c.ref)}</code></h1>\n${shown}${details}\n${rotate}\n${revoke}`);
}

const MATERIAL_FIELD = `<label for="material">Public key, certificate or authorized_keys line (kinds the partner supplies)</label>
<textarea id="material" name="material"></textarea>`;

/** The fields every issue or rotation may carry: expiry, scopes, and the material of the kinds the partner supplies. */
function materialFields(kind?: string): string {
  const material = !kind || ['jwt-key', 'tls-cert', 'ssh-key', 'as2-cert'].includes(kind);
  return `<label for="expiresAt">Expires (UTC date, empty for none)</label><input id="expiresAt" name="expiresAt" type="date">
<label for="scopes">Scopes (space separated, empty for all of the kind)</label><input id="scopes" name="scopes">
${material ? MATERIAL_FIELD : ''}`;
}

export function issuePage(p: PortalPrincipal, partners: readonly string[], kinds: readonly string[]): string {
  return securityPage(
    'Issue a credential',
    `<h1>Issue a credential</h1>
<form aria-label="Issue" method="post" action="/portal/security/issue">
${csrfField(p)}
${select('kind', 'kind', 'Kind', kinds, 'api-key', 'choose')}
${select('partner', 'partner', 'Partner (none for the gateway’s own kinds)', partners, '', 'none')}
${materialFields()}
${confirmBox('confirm-issue', 'issue this credential')}
<button type="submit">Issue</button>
</form>`,
  );
}

/**
 * The answer to an issue or a rotation: the only place the new secret is ever shown. Served with
 * `cache-control: no-store`; the store keeps only its hash or its sealed form.
 */
export function issuedPage(o: { action: 'issue' | 'rotate'; credential: CredentialView; secret?: string; retiring: CredentialView[] }): string {
  const c = o.credential;
  const secret = o.secret
    ? `<div class="secret" role="alert"><p><strong>Copy the secret now: it is shown this once and never again.</strong></p>
<p>Secret: <code id="secret">${esc(o.secret)}</code></p></div>`
    : '<p>This kind carries no secret from the gateway.</p>';
  const retiring = o.retiring.length
    ? `<h2>Retiring</h2><ul>${o.retiring
        .map((r) => `<li><a href="${credentialHref(r)}"><code>${esc(r.ref)}</code></a> works until ${when(r.expiresAt)}</li>`)
        .join('')}</ul>`
    : '';
  const verb = o.action === 'issue' ? 'Issued' : 'Rotated';
  return securityPage(
    `${verb} ${c.kind}`,
    `<h1>${verb}: ${esc(c.kind)} <a href="${credentialHref(c)}"><code>${esc(c.ref)}</code></a></h1>
<p>For ${esc(c.partner ?? 'the gateway')}; expires ${when(c.expiresAt) || 'never'}.</p>
${secret}
${retiring}`,
  );
}

export function expiringPage(days: number, list: (CredentialView & { daysLeft: number })[]): string {
  const form = `<form class="filters" method="get" action="/portal/security/expiring" aria-label="Horizon">
<div><label for="days">Within days</label><input id="days" name="days" inputmode="numeric" value="${days}"></div>
<div><button type="submit">Show</button></div>
</form>`;
  const rows = list.map(
    (c) => `<tr><td>${esc(c.partner ?? '(gateway)')}</td><td>${esc(c.kind)}</td><td><a href="${credentialHref(c)}"><code>${esc(c.ref)}</code></a></td>\
<td>${when(c.expiresAt)}</td><td>${c.daysLeft}</td><td>${sourceWord(c)}</td></tr>`,
  );
  const table = rows.length
    ? scrollTable('Expiring credentials', head('Partner', 'Kind', 'Reference', 'Expires', 'Days left', 'Source'), rows)
    : `<p>No credential expires within ${days} days.</p>`;
  return securityPage('Expiring credentials', `<h1>Credentials expiring within ${days} days</h1>\n${form}\n${table}`);
}

/** The audit page's filter names, as its form and query string carry them. */
export const AUDIT_FILTERS = ['actor', 'action', 'target', 'partner', 'from', 'to'] as const;
export type AuditFields = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

const AUDIT_LABELS: Record<(typeof AUDIT_FILTERS)[number], string> = {
  actor: 'Actor (portal:alice, cli:root…)',
  action: 'Action (starts with: credential.)',
  target: 'Target (starts with: api-key:)',
  partner: 'Partner',
  from: 'From (UTC date)',
  to: 'To (UTC date, inclusive)',
};

export function auditPage(fields: AuditFields, entries: AuditRow[], nextQuery?: string): string {
  const inputs = AUDIT_FILTERS.map((name) => {
    const type = name === 'from' || name === 'to' ? ' type="date"' : '';
    const input = `<input id="a-${name}" name="${name}"${type} value="${esc(fields[name] ?? '')}">`;
    return `<div><label for="a-${name}">${esc(AUDIT_LABELS[name])}</label>${input}</div>`;
  });
  const form = `<form class="filters" method="get" action="/portal/security/audit" aria-label="Audit filters">
${inputs.join('\n')}
<div><button type="submit">Filter</button></div>
</form>`;
  const rows = entries.map(
    (e) => `<tr><td>${when(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td>${esc(e.target ?? '')}</td><td>${esc(e.outcome)}</td>\
<td>${esc(e.source ?? '')}</td><td><code>${esc(e.details ? JSON.stringify(e.details) : '')}</code></td></tr>`,
  );
  const table = rows.length
    ? scrollTable('Audit log', head('At', 'Actor', 'Action', 'Target', 'Outcome', 'Source', 'Details'), rows)
    : '<p>No audit entry matches.</p>';
  const next = nextQuery ? `<p><a href="/portal/security/audit?${esc(nextQuery)}">Next page</a></p>` : '';
  return securityPage('Audit log', `<h1>Audit log</h1>\n${form}\n${table}\n${next}`);
}
