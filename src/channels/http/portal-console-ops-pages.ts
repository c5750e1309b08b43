import { ERROR_CODES } from '../../errors.js';
import type { deadLetters, stuckWork } from '../../pipeline/dead-letters.js';
import type { OpsStats } from '../../pipeline/ops-stats.js';
import { CONSOLE_NAV } from './portal-console-pages.js';
import { esc, page, when, utc } from './portal-pages.js';
import { barChart, lineChart } from './svg-charts.js';

/** The operations console's dead letters, late work and charts (issue 18, decision 0031). Plain HTML and server-drawn SVG. */

export type DeadLetterPage = Awaited<ReturnType<typeof deadLetters>>;
export type DeadLetter = DeadLetterPage['deadLetters'][number];
export type StuckWork = Awaited<ReturnType<typeof stuckWork>>;

const messageLink = (id: unknown) => `<a href="/portal/console/messages/${esc(String(id))}">${esc(String(id).slice(0, 8))}</a>`;
const titleOf = (code: string | null | undefined) => (code && code in ERROR_CODES ? ERROR_CODES[code as keyof typeof ERROR_CODES].title : undefined);

function table(caption: string, head: readonly string[], rows: readonly string[], empty: string): string {
  if (!rows.length) return `<p>${esc(empty)}</p>`;
  return `<div class="scroll"><table><caption>${esc(caption)}</caption>
<thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

/** Why a delivery died, in words: refused for good, attempts used up, or too old to try again. */
export function deathInWords(d: Pick<DeadLetter, 'attempts' | 'maxAttempts' | 'reason'>): string {
  const title = titleOf(d.reason.code);
  const retryable = d.reason.code && d.reason.code in ERROR_CODES ? ERROR_CODES[d.reason.code as keyof typeof ERROR_CODES].retryable : true;
  const why = !retryable
    ? `Refused for good after ${d.attempts} attempt(s)`
    : d.attempts >= d.maxAttempts
      ? `Gave up after all ${d.maxAttempts} attempts`
      : `Too old to try again after ${d.attempts} of ${d.maxAttempts} attempts`;
  return `${why}${title ? `: ${title.charAt(0).toLowerCase()}${title.slice(1)}` : ''}.`;
}

export interface DeadLetterView {
  csrfToken: string;
  partner: string;
  target: string;
  result: DeadLetterPage;
  /** The query of the next page's link (filters and cursor). */
  nextQuery: string | null;
}

function deadLetterRow(d: DeadLetter): string {
  return `<tr><td>${messageLink(d.messageId)}</td><td>${esc(d.partner)}</td><td>${esc(d.type ?? 'none')}</td><td>${esc(d.documentNumber ?? '')}</td>\
<td>${esc(d.purchaseOrderNumbers.join(', '))}</td><td>${esc(d.target)}</td><td>${d.attempts} of ${d.maxAttempts}</td>\
<td><code>${esc(d.reason.code ?? '')}</code> ${esc(d.reason.message ?? '')}</td><td>${when(d.deadAt)}</td><td>${esc(deathInWords(d))}</td></tr>`;
}

/** The bulk form selects by the search filters (state=dead, partner); a target is not one of them. */
function bulkForm(v: DeadLetterView): string {
  const partner = v.partner ? `<input type="hidden" name="partner" value="${esc(v.partner)}">\n` : '';
  const scope = v.partner ? `every dead message of partner ${esc(v.partner)}` : 'every dead message, of every partner';
  const targetNote = v.target ? ` The target filter does not narrow it (messages are selected, not deliveries).` : '';
  return `<h2>Act on all of them</h2>
<form method="post" action="/portal/console/bulk">
<input type="hidden" name="csrf" value="${esc(v.csrfToken)}">
<input type="hidden" name="state" value="dead">
${partner}<p>Applies to ${scope}; you confirm on the next page.${targetNote}</p>
<label for="bulk-action">Action</label>
<select id="bulk-action" name="action"><option value="redeliver">Redeliver the dead deliveries</option>
<option value="replay">Replay (interpret again)</option></select>
<button type="submit">Review the selection</button>
</form>`;
}

export function deadLettersPage(v: DeadLetterView): string {
  const rows = v.result.deadLetters.map(deadLetterRow);
  const head = ['Message', 'Partner', 'Document type', 'Number', 'PO', 'Target', 'Attempts', 'Last error and answer', 'Died (UTC)', 'Reason'];
  const next = v.nextQuery ? `<p><a href="/portal/console/dead-letters?${esc(v.nextQuery)}">Next page</a></p>` : '';
  return page(
    'Dead letters',
    `${CONSOLE_NAV}
<h1>Dead letters</h1>
<form method="get" action="/portal/console/dead-letters">
<label for="partner">Partner</label><input id="partner" name="partner" value="${esc(v.partner)}">
<label for="target">Target</label><input id="target" name="target" value="${esc(v.target)}">
<button type="submit">Filter</button>
</form>
${table('Most recently dead first', head, rows, 'No dead letters.')}
${next}
${rows.length ? bulkForm(v) : ''}`,
    { wide: true },
  );
}

function stuckDeliveryRow(d: StuckWork['pastDue'][number], reason: string): string {
  const last = d.lastError ? ` Last error: ${d.lastError.code ?? ''} ${d.lastError.message ?? ''}.` : '';
  return `<tr><td>${messageLink(d.messageId)}</td><td>${esc(String(d.partner))}</td><td>${esc(String(d.target))}</td><td>${esc(String(d.attempts))}</td>\
<td>${esc(reason + last)}</td></tr>`;
}

export function stuckPage(s: StuckWork): string {
  const m = s.olderThanMinutes;
  const head = ['Message', 'Partner', 'Target', 'Attempts', 'Reason'];
  const pastDue = s.pastDue.map((d) =>
    stuckDeliveryRow(
      d,
      `Due since ${utc(d.nextAttemptAt as Date)} UTC, more than ${m} minute(s) ago, and no worker has taken it ` +
        "(the delivery loop is stopped or behind, or the target's breaker is open).",
    ),
  );
  const waiting = s.awaitingAnswer.map((d) =>
    stuckDeliveryRow(d, `Sent; its answer (an asynchronous AS2 MDN) has been awaited since ${utc(d.since as Date)} UTC, more than ${m} minute(s).`),
  );
  const acks = s.overdueAcknowledgments.map(
    (a) => `<tr><td>${messageLink(a.messageId)}</td><td>${esc(String(a.partner))}</td><td>${esc(String(a.type ?? ''))}</td>\
<td>${esc(String(a.fileName ?? ''))}</td>\
<td>${esc(`Sent ${utc(a.sentAt as Date)} UTC; the partner's acknowledgment was due by ${utc(a.dueAt as Date)} UTC and has not come.`)}</td></tr>`,
  );
  return page(
    'Stuck work',
    `${CONSOLE_NAV}
<h1>Stuck work</h1>
<form method="get" action="/portal/console/stuck">
<label for="older">Late by more than (minutes)</label><input id="older" name="olderThanMinutes" type="number" min="0" value="${m}">
<button type="submit">Show</button>
</form>
<h2>Deliveries past due</h2>
${table('Oldest due first', head, pastDue, 'No delivery is past due.')}
<h2>AS2 answers (MDNs) pending too long</h2>
${table('Longest awaited first', head, waiting, 'No answer is awaited that long.')}
<h2>Overdue acknowledgments</h2>
${table('Newest first', ['Message', 'Partner', 'Type', 'File', 'Reason'], acks, 'No acknowledgment is overdue.')}`,
    { wide: true },
  );
}

const ms = (v: number | null) => (v === null ? '' : `${(v / 1000).toFixed(1)} s`);

function bucketLabel(at: string, unit: 'hour' | 'day'): string {
  return unit === 'hour' ? `${at.slice(11, 13)}h` : at.slice(5, 10);
}

/** A chart, then its numbers in a table inside `<details>`. */
function figure(svg: string, caption: string, head: readonly string[], rows: readonly (readonly string[])[]): string {
  const body = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`);
  if (!body.length) body.push(`<tr><td colspan="${head.length}">None.</td></tr>`);
  return `<figure>
${svg}
<details><summary>${esc(caption)}: the numbers</summary>
${table(caption, head, body, 'No data.')}
</details>
</figure>`;
}

export function chartsPage(s: OpsStats): string {
  const labels = s.buckets.map((b) => bucketLabel(b.at, s.unit));
  const per = s.unit === 'hour' ? 'hour' : 'day';
  const timeRows = (f: (b: OpsStats['buckets'][number]) => string[]) => s.buckets.map((b) => [b.at.replace('T', ' ').slice(0, 16), ...f(b)]);
  const scope = s.partner ? `partner ${s.partner}` : 'all partners';
  const volume = figure(
    barChart(
      { id: 'volume', title: `Messages received per ${per}`, desc: `Inbound messages of ${scope} per ${per} (UTC), ${s.since} to ${s.until}.`, labels },
      s.buckets.map((b) => b.received),
    ),
    `Messages received per ${per}`,
    [`${per} (UTC)`, 'Received'],
    timeRows((b) => [String(b.received)]),
  );
  const rejections = figure(
    barChart(
      { id: 'rejections', title: `Messages rejected per ${per}`, desc: `Inbound messages of ${scope} rejected, by ${per} of arrival (UTC).`, labels },
      s.buckets.map((b) => b.rejected),
    ),
    `Messages rejected per ${per}`,
    [`${per} (UTC)`, 'Rejected'],
    timeRows((b) => [String(b.rejected)]),
  );
  const latency = figure(
    lineChart(
      {
        id: 'latency',
        title: 'Delivery latency, received to delivered (seconds)',
        desc: `Median (p50) and 95th percentile of ${scope}, by ${per} of arrival (UTC).`,
        labels,
      },
      [
        { name: 'p50', values: s.buckets.map((b) => (b.p50Ms === null ? null : b.p50Ms / 1000)) },
        { name: 'p95', values: s.buckets.map((b) => (b.p95Ms === null ? null : b.p95Ms / 1000)) },
      ],
    ),
    'Delivery latency',
    [`${per} (UTC)`, 'Delivered', 'p50', 'p95'],
    timeRows((b) => [String(b.delivered), ms(b.p50Ms), ms(b.p95Ms)]),
  );
  const partners = figure(
    barChart(
      {
        id: 'partners',
        title: 'Messages received per partner',
        desc: `Inbound messages per partner over the window.`,
        labels: s.partners.map((p) => p.partner),
      },
      s.partners.map((p) => p.received),
    ),
    'Per partner',
    ['Partner', 'Received', 'Rejected', 'Delivered', 'p50', 'p95'],
    s.partners.map((p) => [p.partner, String(p.received), String(p.rejected), String(p.delivered), ms(p.p50Ms), ms(p.p95Ms)]),
  );
  const queue = figure(
    barChart(
      {
        id: 'queue',
        title: 'Queue depth now: deliveries pending per target',
        desc: 'Outbox rows waiting for a worker, per target, now.',
        labels: s.queue.map((q) => q.target),
      },
      s.queue.map((q) => q.pending),
    ),
    'Queue depth',
    ['Target', 'Pending', 'Awaiting an answer', 'Oldest due (UTC)'],
    s.queue.map((q) => [q.target, String(q.pending), String(q.waiting), q.oldestDueAt ? q.oldestDueAt.replace('T', ' ').slice(0, 19) : '']),
  );
  const option = (value: string, text: string) => `<option value="${value}"${s.window === value ? ' selected' : ''}>${text}</option>`;
  return page(
    'Charts',
    `${CONSOLE_NAV}
<h1>Charts</h1>
<form method="get" action="/portal/console/charts">
<label for="window">Period</label><select id="window" name="window">${option('24h', 'Last 24 hours, by hour')}${option('30d', 'Last 30 days, by day')}</select>
<label for="partner">Partner (empty: all)</label><input id="partner" name="partner" value="${esc(s.partner ?? '')}">
<button type="submit">Show</button>
</form>
<h2>Volume</h2>
${volume}
<h2>Rejections</h2>
${rejections}
<h2>Delivery latency</h2>
${latency}
<h2>Per partner</h2>
${partners}
<h2>Queue depth</h2>
${queue}`,
    { wide: true },
  );
}
