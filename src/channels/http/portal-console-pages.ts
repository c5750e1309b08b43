import type { Problem } from '../../errors.js';
import type { MessageFilter, SearchPage } from '../../pipeline/message-search.js';
import type { RelatedMessage } from '../../pipeline/message-relations.js';
import type { BulkResult, OpsAction } from '../../pipeline/ops-actions.js';
import type { PortalPrincipal } from '../../security/portal-sign-in.js';
import { esc, page, problem, when } from './portal-pages.js';
import { locationInWords, type Submission } from './portal-supplier-pages.js';

/**
 * The operations console (decision 0030): pages for people of the operations and admin roles over
 * the same pipeline functions as the operations API. Plain HTML, no script; every action goes
 * through a confirmation the server checks.
 */

/** The console's pages, in the order of its navigation. */
export const CONSOLE_LINKS: readonly { href: string; label: string }[] = [
  { href: '/portal/console/messages', label: 'Search' },
  { href: '/portal/console/dead-letters', label: 'Dead letters' },
  { href: '/portal/console/stuck', label: 'Stuck work' },
  { href: '/portal/console/charts', label: 'Charts' },
];

/** The navigation at the top of every console page. */
export const CONSOLE_NAV = `<nav aria-label="Operations console"><a href="/portal/">Home</a>${CONSOLE_LINKS.map(
  (l) => `<a href="${l.href}">${esc(l.label)}</a>`,
).join('')}</nav>`;

/** What each action does, in the words of its button and its confirmation. */
export const ACTION_WORDS: Record<OpsAction, { verb: string; what: string }> = {
  replay: { verb: 'Replay', what: 'interpret again from the stored raw bytes (rejected or failed messages)' },
  redeliver: { verb: 'Redeliver', what: 'send the same canonical documents again to their targets, as new deliveries' },
};

const CONSOLE_STYLE = `<style>ol.raw{font-family:ui-monospace,monospace;font-size:.85rem;background:#f6f6f6;padding:.5rem 0 .5rem 4rem;overflow-x:auto}
ol.raw li{white-space:pre}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;font-size:.85rem}
.notice{border-left:4px solid #2e7d32;padding:.5rem 1rem;background:#edf7ed}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0 1rem}form.filters label{margin-top:.5rem}
label.check{display:flex;gap:.5rem;align-items:center}label.check input{width:auto}</style>`;

const code = (text: string | null | undefined) => (text ? `<code>${esc(text)}</code>` : '');
/** A table's header row. */
const head = (...columns: string[]) => `<thead><tr>${columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr></thead>`;
const messageLink = (id: string, text = id) => `<a href="/portal/console/messages/${esc(id)}">${esc(text)}</a>`;

export function consolePage(title: string, body: string): string {
  return page(title, `${CONSOLE_STYLE}\n${CONSOLE_NAV}\n${body}`, { wide: true });
}

/** The search form's fields: the API's filter names, each with its label and kind. */
const FIELDS: readonly { name: keyof MessageFilter; label: string; kind?: 'select' | 'date'; options?: readonly string[] }[] = [
  { name: 'partner', label: 'Partner', kind: 'select' },
  { name: 'channel', label: 'Channel', kind: 'select', options: ['rest', 'webhook', 'as2', 'sftp', 'portal', 'mailbox'] },
  { name: 'type', label: 'Type (asn, invoice, 850, 997…)' },
  {
    name: 'state',
    label: 'State',
    kind: 'select',
    options: ['received', 'routed', 'delivered', 'rejected', 'failed', 'dead', 'processed', 'duplicate', 'ready', 'collected'],
  },
  { name: 'direction', label: 'Direction', kind: 'select', options: ['inbound', 'outbound'] },
  { name: 'receivedFrom', label: 'Received from (UTC)', kind: 'date' },
  { name: 'receivedTo', label: 'Received before (UTC)', kind: 'date' },
  { name: 'poNumber', label: 'PO number' },
  { name: 'documentNumber', label: 'Document number (shipment, invoice)' },
  { name: 'interchangeControl', label: 'Interchange control (ISA13)' },
  { name: 'as2MessageId', label: 'AS2 Message-ID' },
  { name: 'fileName', label: 'File name' },
  { name: 'correlationId', label: 'Correlation id' },
  { name: 'idempotencyKey', label: 'Idempotency key' },
];

/** The filter as the form's text fields hold it (dates as typed). */
export type FilterFields = Partial<Record<keyof MessageFilter, string>>;

function field(f: (typeof FIELDS)[number], value: string, partners: readonly string[]): string {
  const id = `f-${f.name}`;
  if (f.kind === 'select') {
    const options = ['', ...(f.name === 'partner' ? partners : (f.options ?? []))];
    if (value && !options.includes(value)) options.push(value);
    const opts = options.map((o) => `<option value="${esc(o)}"${o === value ? ' selected' : ''}>${o ? esc(o) : 'any'}</option>`).join('');
    return `<label for="${id}">${esc(f.label)}</label><select id="${id}" name="${f.name}">${opts}</select>`;
  }
  const type = f.kind === 'date' ? ' type="date"' : '';
  return `<label for="${id}">${esc(f.label)}</label><input id="${id}" name="${f.name}"${type} value="${esc(value)}">`;
}

/** Hidden inputs carrying a filter to the next form (a bulk action, the next page). */
export function hiddenFilter(fields: FilterFields): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${esc(name)}" value="${esc(value ?? '')}">`)
    .join('\n');
}

export interface SearchView {
  principal: PortalPrincipal;
  partners: readonly string[];
  fields: FilterFields;
  /** Undefined before the first search. */
  result?: SearchPage;
  /** The query of the next page's link (filters and cursor). */
  nextQuery?: string;
}

export function searchPage(v: SearchView): string {
  const form = `<form class="filters" method="get" action="/portal/console/messages" aria-label="Search filters">
${FIELDS.map((f) => `<div>${field(f, v.fields[f.name] ?? '', v.partners)}</div>`).join('\n')}
<div><button type="submit">Search</button></div>
</form>`;
  const results = v.result ? resultsSection(v) : '<p>Search by any key you have; all filters apply together.</p>';
  return consolePage('Search messages', `<h1>Search messages</h1>\n${form}\n${results}`);
}

function resultsSection(v: SearchView): string {
  const r = v.result as SearchPage;
  if (!r.messages.length) return '<h2>Results</h2>\n<p>No message matches.</p>';
  const rows = r.messages.map(
    (m) => `<tr><td>${when(m.receivedAt)}</td><td>${messageLink(m.id, m.id.slice(0, 8))}</td><td>${esc(m.partner)}</td><td>${esc(m.channel)}</td>\
<td>${esc(m.direction)}</td><td>${esc(m.type ?? '')}</td><td>${esc(m.state)}</td><td>${esc([...m.documentNumbers, ...m.purchaseOrderNumbers].join(', '))}</td>\
<td>${esc(
      Object.entries(m.deliveries)
        .map(([s, n]) => `${n} ${s}`)
        .join(', '),
    )}</td><td>${esc(m.problemCodes.join(', '))}</td></tr>`,
  );
  const next = v.nextQuery ? `<p><a href="/portal/console/messages?${esc(v.nextQuery)}">Next page</a></p>` : '';
  return `<h2>Results</h2>
<div class="scroll"><table><caption>Newest first</caption>
${head('Received (UTC)', 'Message', 'Partner', 'Channel', 'Direction', 'Type', 'State', 'Numbers', 'Deliveries', 'Problems')}
<tbody>
${rows.join('\n')}
</tbody></table></div>
${next}${bulkForm(v)}`;
}

/** Bulk action over every message the filter matches (not only this page); the next page asks to confirm. */
function bulkForm(v: SearchView): string {
  if (!Object.keys(v.fields).length) return '<p>Filter the search to act on its messages in bulk.</p>';
  const options = (Object.keys(ACTION_WORDS) as OpsAction[]).map((a) => `<option value="${a}">${esc(ACTION_WORDS[a].verb)}</option>`).join('');
  return `<h2>Act on every matching message</h2>
<form method="post" action="/portal/console/bulk">
<input type="hidden" name="csrf" value="${esc(v.principal.session.csrfToken)}">
${hiddenFilter(v.fields)}
<label for="bulk-action">Action</label><select id="bulk-action" name="action">${options}</select>
<button type="submit">Review the bulk action</button>
</form>`;
}

/** How the stored bytes are shown: text laid out for reading, or only the download link. */
export type RawView = { kind: 'x12'; segments: string[] } | { kind: 'text'; text: string } | { kind: 'binary' | 'too-large'; note: string };

export interface MessageView {
  principal: PortalPrincipal;
  m: Submission;
  raw: RawView;
  related: readonly RelatedMessage[];
  /** What an action just did (after its redirect). */
  notice?: string | undefined;
}

export function messagePage(v: MessageView): string {
  const m = v.m;
  const body = `<h1>Message ${esc(m.id)}</h1>
${v.notice ? `<p class="notice" role="status">${esc(v.notice)}</p>\n` : ''}${summary(m)}
${actionsSection(v)}
<h2>Errors</h2>
${errorsSection(m)}
<h2>Deliveries</h2>
${deliveriesSection(m)}
<h2>Timeline</h2>
${timelineSection(m)}
<h2>Acknowledgments</h2>
${acknowledgmentsSection(m)}
<h2>Related messages</h2>
${relatedSection(v.related)}
<h2>Raw payload</h2>
<p><a href="/ops/v1/messages/${esc(m.id)}/raw">Download the raw bytes</a> (${esc(String(m.sizeBytes))} bytes, ${esc(m.contentType)})</p>
${rawSection(v.raw)}
<h2>Canonical documents</h2>
${documentsSection(m)}`;
  return consolePage(`Message ${m.id.slice(0, 8)}`, body);
}

function summary(m: Submission): string {
  const row = (label: string, value: string) => (value ? `<dt>${esc(label)}</dt><dd>${value}</dd>\n` : '');
  return `<dl>
${row('State', esc(m.state))}${row('Partner', esc(m.partner))}${row('Direction', esc(m.direction))}${row('Channel', esc(m.channel))}\
${row('Type', esc(m.type ?? m.documents.map((d) => d.type).join(', ')))}${row('Format', `${esc(m.format)}, ${esc(String(m.sizeBytes))} bytes`)}\
${row('File name', esc(m.fileName ?? ''))}${row('Received (UTC)', when(m.receivedAt))}${row('Processed (UTC)', when(m.processedAt))}\
${row('Correlation id', code(m.correlationId))}${row('SHA-256', code(m.sha256))}\
${row('PO numbers', esc([...new Set(m.documents.flatMap((d) => d.purchaseOrderNumbers ?? []))].join(', ')))}\
${row('Document numbers', esc(m.documents.flatMap((d) => (d.documentNumber ? [d.documentNumber] : [])).join(', ')))}</dl>`;
}

/** One form per action, each with its required confirmation checkbox: no script, and the server checks it too. */
function actionsSection(v: MessageView): string {
  const forms = (Object.keys(ACTION_WORDS) as OpsAction[]).map(
    (a) => `<form method="post" action="/portal/console/messages/${esc(v.m.id)}/${a}" aria-label="${esc(ACTION_WORDS[a].verb)}">
<input type="hidden" name="csrf" value="${esc(v.principal.session.csrfToken)}">
<label class="check"><input type="checkbox" name="confirm" value="yes" required id="confirm-${a}"> \
I confirm: ${esc(ACTION_WORDS[a].verb.toLowerCase())} this message (${esc(ACTION_WORDS[a].what)})</label>
<button type="submit">${esc(ACTION_WORDS[a].verb)}</button>
</form>`,
  );
  return `<h2>Actions</h2>\n${forms.join('\n')}`;
}

function problemRows(problems: readonly Problem[] | null | undefined, where: string): string[] {
  return (problems ?? []).map(
    (x) => `<tr><td>${esc(where)}</td><td><code>${esc(x.code)}</code></td><td>${locationInWords(x.location)}</td><td>${esc(x.message)}</td></tr>`,
  );
}

function errorsSection(m: Submission): string {
  const rows = [
    ...problemRows(m.problems as Problem[] | null, 'the file'),
    ...m.documents.flatMap((d) => problemRows(d.problems as Problem[] | null, `document ${d.seq}`)),
    ...m.deliveries.flatMap((d) =>
      d.lastError
        ? [`<tr><td>delivery to ${esc(d.target)}</td><td>${code(d.lastError.code)}</td><td></td><td>${esc(d.lastError.message ?? '')}</td></tr>`]
        : [],
    ),
  ];
  if (!rows.length) return '<p>None.</p>';
  return `<div class="scroll"><table>${head('Of', 'Code', 'Where', 'Problem')}
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function deliveriesSection(m: Submission): string {
  if (!m.deliveries.length) return '<p>None.</p>';
  const rows = m.deliveries.map(
    (d) => `<tr><td>${esc(d.target)} (${esc(d.kind)})</td><td>${code(d.idempotencyKey)}</td><td>${esc(d.state)}</td>\
<td>${esc(String(d.attempts))}${d.maxAttempts ? ` of ${esc(String(d.maxAttempts))}` : ''}</td><td>${when(d.deliveredAt)}</td>\
<td>${d.lastError ? `${code(d.lastError.code)} ${esc(d.lastError.message ?? '')}` : ''}</td></tr>`,
  );
  return `<div class="scroll"><table><caption>Each row is one delivery of one document to one target; a redelivery is a new row</caption>
${head('Target', 'Idempotency key', 'State', 'Attempts', 'Delivered (UTC)', 'Last answer')}
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

/** Every event, with each delivery attempt and the answer it got (delivered, delivery.failed, delivery.dead). */
function timelineSection(m: Submission): string {
  const rows = m.timeline.map((e) => `<tr><td>${when(e.at)}</td><td>${esc(e.type)}</td><td>${code(e.code)}</td><td>${esc(e.detail ?? '')}</td></tr>`);
  return `<div class="scroll"><table>${head('At (UTC)', 'Event', 'Code', 'Detail')}
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function acknowledgmentsSection(m: Submission): string {
  const items = [
    ...m.acknowledgments.map((a) => `<li>Sent: ${esc(a.type ?? '')} ${messageLink(a.id, a.fileName ?? a.id)} (${esc(a.state)})</li>`),
    ...(m.acknowledgment
      ? [
          `<li>Received: ${esc(m.acknowledgment.status)}${m.acknowledgment.dueAt ? `, due ${when(m.acknowledgment.dueAt)} UTC` : ''}${
            m.acknowledgment.messageId ? ` (${messageLink(m.acknowledgment.messageId)})` : ''
          }</li>`,
        ]
      : []),
    ...(m.as2
      ? [`<li>AS2 ${code(m.as2.messageId)}: ${esc(m.as2.status ?? '')}, MDN ${esc(String(m.as2.mdn ?? ''))} ${esc(m.as2.disposition ?? '')}</li>`]
      : []),
  ];
  return items.length ? `<ul>\n${items.join('\n')}\n</ul>` : '<p>None.</p>';
}

function relatedSection(related: readonly RelatedMessage[]): string {
  if (!related.length) return '<p>None.</p>';
  const rows = related.map(
    (r) => `<tr><td>${esc(r.relation)}</td><td>${messageLink(r.id, r.id.slice(0, 8))}</td><td>${esc(r.direction)}</td><td>${esc(r.type ?? '')}</td>\
<td>${esc(r.state)}</td><td>${when(r.receivedAt)}</td></tr>`,
  );
  return `<div class="scroll"><table>${head('Relation', 'Message', 'Direction', 'Type', 'State', 'Received (UTC)')}
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function rawSection(raw: RawView): string {
  if (raw.kind === 'x12') return `<ol class="raw" aria-label="X12 segments, one per line">\n${raw.segments.map((s) => `<li>${esc(s)}</li>`).join('\n')}\n</ol>`;
  if (raw.kind === 'text')
    return `<ol class="raw" aria-label="Raw payload lines">\n${raw.text
      .split('\n')
      .map((l) => `<li>${esc(l)}</li>`)
      .join('\n')}\n</ol>`;
  return `<p>${esc(raw.note)}</p>`;
}

function documentsSection(m: Submission): string {
  if (!m.documents.length) return '<p>None.</p>';
  return m.documents
    .map(
      (d) => `<h3>Document ${esc(String(d.seq))}: ${esc(d.type ?? 'unknown')} ${esc(d.documentNumber ?? '')} (${esc(d.state)})</h3>
${d.canonical ? `<pre>${esc(JSON.stringify(d.canonical, null, 2))}</pre>` : '<p>No canonical document (rejected).</p>'}`,
    )
    .join('\n');
}

/** The bulk action's confirmation: what matches, and a form that repeats the filter with the required checkbox. */
export function bulkConfirmPage(o: {
  principal: PortalPrincipal;
  action: OpsAction;
  fields: FilterFields;
  selected: number;
  more: boolean;
  error?: string;
}): string {
  const words = ACTION_WORDS[o.action];
  const filter = Object.entries(o.fields).map(([k, v]) => `<li>${esc(k)} = ${code(v ?? '')}</li>`);
  const count = `${o.selected}${o.more ? ' (the newest; more match: repeat the action for the rest)' : ''}`;
  return consolePage(
    `${words.verb}: confirm`,
    `<h1>${esc(words.verb)} ${esc(String(o.selected))} message${o.selected === 1 ? '' : 's'}?</h1>
${problem(o.error)}<p>${esc(words.verb)}: ${esc(words.what)}.</p>
<p>Messages matching: <strong>${esc(count)}</strong></p>
<ul>
${filter.join('\n')}
</ul>
<form method="post" action="/portal/console/bulk">
<input type="hidden" name="csrf" value="${esc(o.principal.session.csrfToken)}">
<input type="hidden" name="action" value="${esc(o.action)}">
${hiddenFilter(o.fields)}
<label class="check"><input type="checkbox" name="confirm" value="yes" required id="confirm-bulk"> I confirm: ${esc(words.verb.toLowerCase())} \
these ${esc(String(o.selected))} messages</label>
<button type="submit"${o.selected ? '' : ' disabled'}>${esc(words.verb)} them</button>
</form>`,
  );
}

export function bulkResultPage(action: OpsAction, r: BulkResult): string {
  const rows = r.outcomes.map(
    (o) =>
      `<tr><td>${messageLink(o.messageId)}</td><td>${esc(o.outcome)}</td><td>${code(o.code)}</td>\
<td>${esc(o.message ?? (o.deliveries ? `${o.deliveries} deliveries queued` : ''))}</td></tr>`,
  );
  return consolePage(
    `${ACTION_WORDS[action].verb}: done`,
    `<h1>${esc(ACTION_WORDS[action].verb)}: ${esc(String(r.selected))} message${r.selected === 1 ? '' : 's'}</h1>
${r.more ? '<p>More messages match than one action handles: repeat it for the rest.</p>\n' : ''}<div class="scroll"><table>
${head('Message', 'Outcome', 'Code', 'Detail')}
<tbody>
${rows.join('\n')}
</tbody></table></div>`,
  );
}
