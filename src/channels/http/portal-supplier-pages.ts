import type { Problem, SourceLocation } from '../../errors.js';
import type { MailboxEntry } from '../../pipeline/outbound.js';
import type { messageStatus } from '../../pipeline/status.js';
import type { SubmissionPage } from '../../pipeline/submissions.js';
import type { PortalPrincipal } from '../../security/portal-sign-in.js';
import { esc, page, problem, when } from './portal-pages.js';

/** A supplier's pages (issue 18): what it sent, a file upload, and its mailbox. Plain HTML, like the sign-in form. */

export type Submission = NonNullable<Awaited<ReturnType<typeof messageStatus>>>;

/** The formats the upload form offers, by the name a person knows them by. */
export const UPLOAD_FORMATS = { x12: 'X12', xml: 'cXML', csv: 'CSV', json: 'JSON' } as const;

const NAV = `<nav aria-label="Supplier pages"><a href="/portal/">Home</a><a href="/portal/submissions">Submissions</a>\
<a href="/portal/upload">Upload a file</a><a href="/portal/mailbox">Mailbox</a></nav>`;

const list = (values: readonly string[]) => esc(values.join(', '));

export function submissionsPage(p: PortalPrincipal, s: SubmissionPage): string {
  const rows = s.messages.map((m) => {
    const acks = s.acknowledgmentsSent.get(m.id) ?? [];
    return `<tr><td><a href="/portal/submissions/${esc(m.id)}">${when(m.receivedAt)}</a></td><td>${esc(m.channel)}</td><td>${esc(m.type ?? '')}</td>
<td>${list([...m.documentNumbers, ...m.purchaseOrderNumbers.map((po) => `PO ${po}`)])}</td><td>${esc(m.state)}</td>
<td>${acks.length ? list(acks.map((a) => `${a.type} ${a.state}`)) : 'none sent'}</td></tr>`;
  });
  const next = s.nextCursor ? `<p><a href="/portal/submissions?cursor=${encodeURIComponent(s.nextCursor)}">Older submissions</a></p>` : '';
  const table = rows.length
    ? `<div class="scroll"><table><caption>Newest first</caption>
<thead><tr><th scope="col">Received (UTC)</th><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">Business number</th>\
<th scope="col">State</th><th scope="col">Acknowledgment</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`
    : '<p>No submissions yet.</p>';
  return page('Submissions', `${NAV}\n<h1>Submissions of ${esc(p.partner?.name ?? '')}</h1>\n${table}\n${next}`, { wide: true });
}

/** Where a problem is, in words, beside its code: the X12 segment and element, the line, the JSON or XML path, the CSV column. */
export function locationInWords(l: SourceLocation | undefined): string {
  if (!l) return '';
  const parts: string[] = [];
  if (l.transaction) parts.push(`transaction set ${l.transaction}`);
  if (l.segment) parts.push(`segment ${l.segment}${l.position ? ` (segment ${l.position} of its transaction set)` : ''}`);
  if (l.element) parts.push(`element ${l.element}${l.segment ? ` (${l.segment}${String(l.element).padStart(2, '0')})` : ''}`);
  if (l.line) parts.push(`line ${l.line}${l.column ? `, column ${l.column}` : ''}`);
  if (l.offset !== undefined) parts.push(`byte ${l.offset}`);
  if (l.jsonPath) parts.push(`JSON path ${l.jsonPath}`);
  if (l.xmlPath) parts.push(`XML path ${l.xmlPath}`);
  if (l.csvColumn) parts.push(`column ${l.csvColumn}`);
  if (l.pointer) parts.push(`field ${l.pointer}`);
  return esc(parts.join(', '));
}

function problemsTable(caption: string, problems: readonly Problem[] | null | undefined): string {
  if (!problems?.length) return '';
  const rows = problems.map((x) => `<tr><td><code>${esc(x.code)}</code></td><td>${locationInWords(x.location)}</td><td>${esc(x.message)}</td></tr>`);
  return `<div class="scroll"><table><caption>${esc(caption)}</caption>
<thead><tr><th scope="col">Code</th><th scope="col">Where</th><th scope="col">Problem</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>\n`;
}

/** The message's own problems (envelope, encoding); those it repeats from its documents show under the documents. */
function fileProblems(m: Submission): Problem[] {
  const ofDocuments = new Set(m.documents.flatMap((d) => ((d.problems as Problem[] | null) ?? []).map((x) => JSON.stringify(x))));
  return ((m.problems as Problem[] | null) ?? []).filter((x) => !ofDocuments.has(JSON.stringify(x)));
}

function documentsSection(m: Submission): string {
  if (!m.documents.length) return '<p>No documents yet.</p>\n';
  return m.documents
    .map((d) => {
      const numbers = [...(d.documentNumber ? [d.documentNumber] : []), ...((d.purchaseOrderNumbers as string[] | null) ?? []).map((po) => `PO ${po}`)];
      return `<h3>Document ${esc(String(d.seq))}: ${esc(d.type ?? 'not recognised')}</h3>
<p>State: <strong>${esc(d.state)}</strong>${numbers.length ? `. Numbers: ${list(numbers)}` : ''}</p>
${problemsTable(`Problems of document ${d.seq}`, d.problems as Problem[] | null)}`;
    })
    .join('');
}

const NOT_READ_YET = 'The gateway has not read this file yet; this page reloads by itself.';

export function submissionPage(m: Submission): string {
  const acks = m.acknowledgments.length ? list(m.acknowledgments.map((a) => `${a.type} ${a.state}`)) : 'none sent';
  const timeline = m.timeline
    .map((e) => `<tr><td>${when(e.at)}</td><td>${esc(e.type)}</td><td>${e.code ? `<code>${esc(e.code)}</code>` : ''}</td><td>${esc(e.detail)}</td></tr>`)
    .join('\n');
  const body = `${NAV}
<h1>Submission received ${when(m.receivedAt)} UTC</h1>
<dl>
<dt>State</dt><dd>${esc(m.state)}</dd>
<dt>Channel</dt><dd>${esc(m.channel)}</dd>
<dt>Format</dt><dd>${esc(m.format)}, ${esc(String(m.sizeBytes))} bytes</dd>
<dt>Acknowledgment</dt><dd>${acks}</dd>
<dt>Message id</dt><dd><code>${esc(m.id)}</code></dd>
</dl>
${m.state === 'received' ? `<p>${NOT_READ_YET}</p>\n` : ''}${problemsTable('Problems of the file', fileProblems(m))}\
<h2>Documents</h2>
${documentsSection(m)}<h2>Timeline</h2>
<div class="scroll"><table><thead><tr><th scope="col">At (UTC)</th><th scope="col">Event</th><th scope="col">Code</th><th scope="col">Detail</th></tr></thead>
<tbody>
${timeline}
</tbody></table></div>`;
  return page('Submission', body, { wide: true, ...(m.state === 'received' ? { refreshSeconds: 2 } : {}) });
}

export function uploadPage(o: { csrfToken: string; uploadKey: string; format?: string; content?: string; error?: string }): string {
  const options = Object.entries(UPLOAD_FORMATS).map(([value, label]) => `<option value="${value}"${o.format === value ? ' selected' : ''}>${label}</option>`);
  return page(
    'Upload a file',
    `${NAV}
<h1>Upload a file</h1>
${problem(o.error)}<p>Choose the file, or paste its content. It goes through the same checks as a file sent over the API.</p>
<form method="post" action="/portal/upload" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="${esc(o.csrfToken)}">
<input type="hidden" name="key" value="${esc(o.uploadKey)}">
<label for="format">Format</label>
<select id="format" name="format" required>${options.join('')}</select>
<label for="file">File</label>
<input type="file" id="file" name="file">
<label for="content">Or paste the file content</label>
<textarea id="content" name="content" spellcheck="false">${esc(o.content ?? '')}</textarea>
<button type="submit">Send</button>
</form>`,
  );
}

const ANSWERS = 'answers a submission';

export function mailboxPage(p: PortalPrincipal, items: readonly MailboxEntry[]): string {
  const rows = items.map(
    (i) => `<tr><td>${when(i.createdAt)}</td><td>${esc(i.type)}</td><td><a href="/portal/mailbox/${esc(i.id)}" download>${esc(i.fileName)}</a></td>\
<td>${esc(String(i.sizeBytes))}</td><td>${i.relatedMessageId ? `<a href="/portal/submissions/${esc(i.relatedMessageId)}">${ANSWERS}</a>` : ''}</td></tr>`,
  );
  const table = rows.length
    ? `<div class="scroll"><table><caption>Not yet collected, oldest first</caption>
<thead><tr><th scope="col">Created (UTC)</th><th scope="col">Type</th><th scope="col">File</th><th scope="col">Bytes</th><th scope="col">About</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`
    : '<p>The mailbox is empty.</p>';
  return page('Mailbox', `${NAV}\n<h1>Mailbox of ${esc(p.partner?.name ?? '')}</h1>\n${table}`, { wide: true });
}
