import type { PortalPrincipal } from '../../security/portal-sign-in.js';

/**
 * The portal's pages, rendered on the server as plain HTML (decision 0023): no external assets, no
 * script but the gateway's own that enhances a page which works without it (the mapping editor,
 * decision 0035), and every value that came from a person or a file passes through `esc`.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A time as people read it in the portal: UTC, to the second, without the T and the zone letter. */
export function utc(d: Date | string | null | undefined): string {
  return d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) : '';
}

/** `utc`, escaped for HTML. */
export const when = (d: Date | string | null | undefined): string => esc(utc(d));

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:1rem}input{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}input[type=checkbox]{width:auto}
button{font:inherit;margin-top:1rem;padding:.4rem 1rem}.error{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecee}
body.wide{max-width:76rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
.scroll{overflow-x:auto}select,textarea{font:inherit;width:100%;box-sizing:border-box}textarea{font-family:ui-monospace,monospace;min-height:12rem}
nav a{margin-right:1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0;min-width:0;overflow-wrap:anywhere}.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}
fieldset{margin-top:1rem}.workbench-editor{border:1px solid #888;max-height:36rem;overflow:auto}`;

export interface PageOptions {
  /** Tables: up to 76rem instead of 40rem. */
  wide?: boolean;
  /** Reloads the page after this many seconds (a message still being interpreted), without a script. */
  refreshSeconds?: number;
  /** Scripts of the gateway's own (`/portal/assets/…`) that enhance the page; it works without them. */
  scripts?: string[];
}

export function page(title: string, body: string, o: PageOptions = {}): string {
  const refresh = o.refreshSeconds ? `<meta http-equiv="refresh" content="${o.refreshSeconds}">` : '';
  const scripts = (o.scripts ?? []).map((src) => `<script type="module" src="${esc(src)}"></script>`).join('');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${esc(title)} · Partner gateway</title><style>${STYLE}</style>${scripts}</head>
<body${o.wide ? ' class="wide"' : ''}><main>
${body}
</main></body>
</html>
`;
}

export function problem(message: string | undefined): string {
  return message ? `<p class="error" role="alert">${esc(message)}</p>\n` : '';
}

export function signInPage(o: { csrfToken: string; username?: string; error?: string; oidcName?: string | undefined }): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1>
${problem(o.error)}<form method="post" action="/portal/sign-in">
<input type="hidden" name="csrf" value="${esc(o.csrfToken)}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required value="${esc(o.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>${o.oidcName ? `\n<p><a href="/portal/oidc/start">Sign in with ${esc(o.oidcName)}</a> (staff)</p>` : ''}`,
  );
}

const SUPPLIER_LINKS = `<ul>
<li><a href="/portal/submissions">Submissions</a></li>
<li><a href="/portal/upload">Upload a file</a></li>
<li><a href="/portal/mailbox">Mailbox</a></li>
</ul>
`;

/** Operations and admin users: the console (its own navigation, portal-console-pages.ts, links its pages). */
const CONSOLE_LINK = `<ul>
<li><a href="/portal/console/messages">Operations console</a>: search messages, dead letters, stuck work, charts</li>
</ul>
`;

/** Partner managers and admins: the mapping workbench (decision 0035). */
const MAPPINGS_LINK = `<ul>
<li><a href="/portal/mappings">Mapping profiles</a>: try a profile on samples, edit it, see what changes, save a new version</li>
</ul>
`;

/** Security and admin users: credentials, their expiry and the audit log (portal-security-pages.ts). */
const SECURITY_LINK = `<ul>
<li><a href="/portal/security/credentials">Security</a>: partners' credentials (issue, rotate, revoke), expiring soon, audit log</li>
</ul>
`;

/** Partner managers and admin users: the partners, where each stands, and its onboarding (portal-partner-pages.ts). */
const PARTNERS_LINK = `<ul>
<li><a href="/portal/partners">Partners</a>: state, onboarding checklist, go-live, profiles, mappings, credentials</li>
</ul>
`;

/** The home page's links for a role: the admin role sees every staff page's. */
function linksFor(role: PortalPrincipal['role']): string {
  if (role === 'supplier') return SUPPLIER_LINKS;
  const links: [boolean, string][] = [
    [role === 'partner-manager' || role === 'admin', PARTNERS_LINK + MAPPINGS_LINK],
    [role === 'operations' || role === 'admin', CONSOLE_LINK],
    [role === 'security' || role === 'admin', SECURITY_LINK],
  ];
  return links.map(([shown, html]) => (shown ? html : '')).join('');
}

/**
 * The home: who is signed in, as what, for which partner; and the sign-out form. `more` follows
 * them (a supplier's dashboard, decision 0028).
 */
export function homePage(p: PortalPrincipal, more = ''): string {
  const partner = p.partner ? `<dt>Partner</dt><dd>${esc(p.partner.name)} (${esc(p.partner.id)})</dd>\n` : '';
  return page(
    'Portal',
    `<h1>Partner gateway portal</h1>
<p>Signed in as <strong>${esc(p.displayName)}</strong>.</p>
<dl>
<dt>Username</dt><dd>${esc(p.username)}</dd>
<dt>Role</dt><dd>${esc(p.role)}</dd>
${partner}</dl>
${linksFor(p.role)}<form method="post" action="/portal/sign-out">
<input type="hidden" name="csrf" value="${esc(p.session.csrfToken)}">
<button type="submit">Sign out</button>
</form>${more}`,
    // A dashboard below holds tables.
    more ? { wide: true } : {},
  );
}

export function errorPage(code: string, message: string): string {
  return page(
    'Error',
    `<h1>The request was refused</h1>\n${problem(message)}<p>Code: <code>${esc(code)}</code></p>\n<p><a href="/portal/">Back to the portal</a></p>`,
  );
}
