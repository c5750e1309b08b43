import type { Problem } from '../../errors.js';
import type { FormDraft } from '../../pipeline/form-drafts.js';
import type { SentOrder } from '../../pipeline/supplier-orders.js';
import type { SubmissionPage } from '../../pipeline/submissions.js';
import type { PortalPrincipal } from '../../security/portal-sign-in.js';
import { esc, homePage, page, when } from './portal-pages.js';
import type { Submission } from './portal-supplier-pages.js';
import { type FieldProblem, type Fields, type InvoiceTotals, PACK_KINDS, packRows } from '../../pipeline/supplier-forms.js';

/** The supplier's dashboard and its ship-notice and invoice forms (decision 0028). Plain HTML, no script. */

const NAV = `<nav aria-label="Supplier pages"><a href="/portal/">Home</a><a href="/portal/submissions">Submissions</a>\
<a href="/portal/upload">Upload a file</a><a href="/portal/mailbox">Mailbox</a></nav>`;

const FORM_STYLE = `<style>.field-error{color:#b00020;margin:.2rem 0 0}fieldset{margin-top:1rem}.totals td{text-align:right}</style>`;

function ordersSection(orders: readonly SentOrder[]): string {
  if (!orders.length) return '<p>No purchase orders yet.</p>';
  const rows = orders.map((o) => {
    const linked = o.linked.length
      ? o.linked
          .map((l) => `<a href="/portal/submissions/${esc(l.messageId)}">${esc(l.type)} ${esc(l.documentNumber ?? '')}</a> (${esc(l.state)})`)
          .join('<br>')
      : 'none yet';
    const id = encodeURIComponent(o.documentId);
    return `<tr><td>${esc(o.number)}</td><td>${esc(o.order.orderDate ?? '')}</td><td>${esc(String(o.order.lines.length))}</td><td>${linked}</td>
<td><a href="/portal/asn/new?po=${id}">Ship (ASN)</a><br><a href="/portal/invoices/new?po=${id}">Invoice</a></td></tr>`;
  });
  return `<div class="scroll"><table><caption>Newest first</caption>
<thead><tr><th scope="col">Purchase order</th><th scope="col">Ordered</th><th scope="col">Lines</th><th scope="col">Documents for it</th>\
<th scope="col">Actions</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function submissionsSection(s: SubmissionPage): string {
  if (!s.messages.length) return '<p>No submissions yet.</p>';
  const rows = s.messages.map((m) => {
    const acks = s.acknowledgmentsSent.get(m.id) ?? [];
    const numbers = [...m.documentNumbers, ...m.purchaseOrderNumbers.map((po) => `PO ${po}`)].join(', ');
    return `<tr><td><a href="/portal/submissions/${esc(m.id)}">${when(m.receivedAt)}</a></td><td>${esc(m.channel)}</td><td>${esc(m.type ?? '')}</td>\
<td>${esc(numbers)}</td><td>${esc(m.state)}</td><td>${acks.length ? esc(acks.map((a) => `${a.type} ${a.state}`).join(', ')) : 'none sent'}</td></tr>`;
  });
  return `<div class="scroll"><table><caption>Recent submissions, newest first</caption>
<thead><tr><th scope="col">Received (UTC)</th><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">Business number</th>\
<th scope="col">State</th><th scope="col">Acknowledgment</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function draftsSection(drafts: readonly FormDraft[]): string {
  if (!drafts.length) return '';
  const items = drafts.map((d) => {
    const what = d.kind === 'asn' ? `Ship notice ${d.fields.shipmentId ?? ''}` : `Invoice ${d.fields.invoiceNumber ?? ''}`;
    const path = d.kind === 'asn' ? 'asn' : 'invoices';
    return `<li><a href="/portal/${path}/new?draft=${esc(d.id)}">${esc(what)}</a>, saved ${when(d.updatedAt)} UTC</li>`;
  });
  return `<h2>Drafts</h2>\n<ul>\n${items.join('\n')}\n</ul>\n`;
}

/** What a supplier's home shows below who is signed in: its partner's purchase orders with what answers them, its drafts, its recent submissions. */
export function dashboardPage(p: PortalPrincipal, o: { orders: SentOrder[]; submissions: SubmissionPage; drafts: FormDraft[] }): string {
  return homePage(
    p,
    `
<h2>Purchase orders</h2>
${ordersSection(o.orders)}
${draftsSection(o.drafts)}<h2>Recent submissions</h2>
${submissionsSection(o.submissions)}
<p><a href="/portal/submissions">All submissions</a></p>`,
  );
}

/** A ship notice or invoice needs an order: the partner's orders to choose from. */
export function pickOrderPage(kind: 'asn' | 'invoice', orders: readonly SentOrder[]): string {
  const path = kind === 'asn' ? 'asn' : 'invoices';
  const items = orders.map((o) => `<li><a href="/portal/${path}/new?po=${esc(o.documentId)}">${esc(o.number)}</a> (${esc(o.order.orderDate ?? '')})</li>`);
  const title = kind === 'asn' ? 'Ship an order' : 'Invoice an order';
  return page(title, `${NAV}\n<h1>${title}</h1>\n${items.length ? `<ul>\n${items.join('\n')}\n</ul>` : '<p>No purchase orders yet.</p>'}`);
}

/** The problems of one field, beside it: code and plain words, linked to the input by aria-describedby. */
function fieldErrors(name: string, problems: readonly FieldProblem[]): string {
  const mine = problems.filter((p) => p.field === name);
  if (!mine.length) return '';
  return mine.map((p) => `<p class="field-error" id="${esc(errorId(name))}"><code>${esc(p.code)}</code> ${esc(p.message)}</p>`).join('');
}

const errorId = (name: string) => `error-${name.replaceAll('.', '-')}`;
const describedBy = (name: string, problems: readonly FieldProblem[]) =>
  problems.some((p) => p.field === name) ? ` aria-describedby="${esc(errorId(name))}" aria-invalid="true"` : '';

function input(name: string, label: string, f: Fields, problems: readonly FieldProblem[], attrs = ''): string {
  const id = name.replaceAll('.', '-');
  return `<label for="${id}">${esc(label)}</label>
<input id="${id}" name="${esc(name)}" value="${esc(f[name] ?? '')}"${attrs}${describedBy(name, problems)}>
${fieldErrors(name, problems)}`;
}

/** Problems placed on no field, and a summary of the others, above the form. */
function summary(problems: readonly FieldProblem[]): string {
  if (!problems.length) return '';
  const loose = problems.filter((p) => !p.field);
  const rows = loose.map((p) => `<li><code>${esc(p.code)}</code> ${esc(p.message)} (${esc(p.jsonPath)})</li>`);
  return `<div class="error" role="alert"><p>The form has ${problems.length} problem(s)${loose.length < problems.length ? ', shown beside their fields' : ''}. \
Nothing was sent.</p>${rows.length ? `<ul>${rows.join('')}</ul>` : ''}</div>\n`;
}

interface FormFrame {
  csrfToken: string;
  formKey: string;
  order: SentOrder;
  fields: Fields;
  problems: readonly FieldProblem[];
  draftId?: string | undefined;
  saved?: boolean;
  /** SSCCs just given to packs without one (the partner's GS1 company prefix). */
  numbered?: readonly string[];
  /** The partner declares a GS1 company prefix, so the gateway can number its packs. */
  canNumber?: boolean;
}

function hidden(o: FormFrame, extra = ''): string {
  return `<input type="hidden" name="csrf" value="${esc(o.csrfToken)}">
<input type="hidden" name="key" value="${esc(o.formKey)}">
<input type="hidden" name="po" value="${esc(o.order.documentId)}">
${o.draftId ? `<input type="hidden" name="draft" value="${esc(o.draftId)}">\n` : ''}${extra}`;
}

const lineName = (o: SentOrder, i: number) => {
  const l = o.order.lines[i];
  return l ? `line ${l.lineNumber ?? i + 1}: ${[l.buyerSku ?? l.vendorSku ?? l.upc, l.description].filter(Boolean).join(' ')}` : '';
};

function packFieldset(o: FormFrame, row: number): string {
  const f = o.fields;
  const kind = f[`pack.${row}.kind`] || 'carton';
  const kinds = PACK_KINDS.map((k) => `<option value="${k}"${k === kind ? ' selected' : ''}>${k}</option>`).join('');
  const chosen = f[`pack.${row}.line`] ?? '';
  const lines = [`<option value=""${chosen === '' ? ' selected' : ''}>(none)</option>`]
    .concat(o.order.order.lines.map((_, i) => `<option value="${i}"${chosen === String(i) ? ' selected' : ''}>${esc(lineName(o.order, i))}</option>`))
    .join('');
  const n = row + 1;
  return `<fieldset><legend>Pack ${n}</legend>
${input(`pack.${row}.sscc`, `SSCC of pack ${n}`, f, o.problems, ' inputmode="numeric" autocomplete="off"')}
<label for="pack-${row}-kind">Kind of pack ${n}</label>
<select id="pack-${row}-kind" name="pack.${row}.kind">${kinds}</select>
<label for="pack-${row}-line">Line in pack ${n}</label>
<select id="pack-${row}-line" name="pack.${row}.line"${describedBy(`pack.${row}.line`, o.problems)}>${lines}</select>
${fieldErrors(`pack.${row}.line`, o.problems)}${input(`pack.${row}.qty`, `Quantity in pack ${n}`, f, o.problems, ' inputmode="decimal"')}
</fieldset>`;
}

function saved(o: FormFrame): string {
  if (o.numbered?.length) return `<p role="status">Draft saved; new SSCCs for ${o.numbered.length} pack(s): ${esc(o.numbered.join(', '))}.</p>\n`;
  return o.saved ? '<p role="status">Draft saved.</p>\n' : '';
}

export function asnFormPage(o: FormFrame): string {
  const po = o.order.order;
  const lines = po.lines
    .map((l, i) => {
      const ordered = `ordered ${l.quantity} ${l.unit}`;
      return `<fieldset><legend>${esc(lineName(o.order, i))} (${esc(ordered)})</legend>
${input(`line.${i}.qty`, `Shipped quantity of line ${l.lineNumber ?? i + 1}`, o.fields, o.problems, ' inputmode="decimal"')}</fieldset>`;
    })
    .join('\n');
  const packs = Array.from({ length: packRows(o.fields) }, (_, row) => packFieldset(o, row)).join('\n');
  return page(
    'Ship notice',
    `${FORM_STYLE}${NAV}
<h1>Ship notice for purchase order ${esc(po.purchaseOrderNumber)}</h1>
${saved(o)}${summary(o.problems)}<form method="post" action="/portal/asn/new">
${hidden(o)}${input('shipmentId', 'Shipment number', o.fields, o.problems, ' required')}
${input('shipDate', 'Ship date', o.fields, o.problems, ' type="date"')}
${input('carrier', 'Carrier', o.fields, o.problems)}
${input('tracking', 'Tracking number', o.fields, o.problems)}
<h2>Lines shipped</h2>
<p>Leave a line empty when nothing of it ships now.</p>
${fieldErrors('lines', o.problems)}${lines}
<h2>Packs</h2>
<p>One row per carton or pallet and order line; a pack holding two lines takes two rows with the same SSCC. \
Saving the draft adds an empty row.${o.canNumber ? ' Leave the SSCC empty and the gateway can number the pack from your GS1 company prefix.' : ''}</p>
${packs}
${o.canNumber ? '<button type="submit" name="action" value="number">Number packs without an SSCC</button>\n' : ''}\
<button type="submit" name="action" value="save">Save draft</button>
<button type="submit" name="action" value="submit">Submit ship notice</button>
</form>`,
  );
}

function totalsTable(t: InvoiceTotals, currency: string): string {
  const money = (n: number | null) => (n === null ? '' : `${n.toFixed(2)} ${esc(currency)}`);
  return `<div class="scroll"><table class="totals"><caption>Totals (computed)</caption><tbody>
<tr><th scope="row">Lines</th><td>${money(t.subtotal)}</td></tr>
<tr><th scope="row">Tax</th><td>${money(t.tax ?? 0)}</td></tr>
<tr><th scope="row">Freight</th><td>${money(t.freight ?? 0)}</td></tr>
<tr><th scope="row">Total due</th><td><strong>${money(t.total)}</strong></td></tr>
</tbody></table></div>`;
}

export function invoiceFormPage(o: FormFrame & { asnDocumentId?: string | undefined; totals: InvoiceTotals }): string {
  const po = o.order.order;
  const lines = po.lines
    .map((l, i) => {
      const n = l.lineNumber ?? i + 1;
      const amount = o.totals.lineAmounts[i];
      return `<fieldset><legend>${esc(lineName(o.order, i))} (ordered ${esc(`${l.quantity} ${l.unit}`)})</legend>
${input(`line.${i}.qty`, `Quantity invoiced of line ${n}`, o.fields, o.problems, ' inputmode="decimal"')}
${input(`line.${i}.price`, `Unit price of line ${n}`, o.fields, o.problems, ' inputmode="decimal"')}
<p>Line amount: ${amount === null || amount === undefined ? '(not computed)' : esc(amount.toFixed(2))}</p></fieldset>`;
    })
    .join('\n');
  const asn = o.asnDocumentId ? `<input type="hidden" name="asn" value="${esc(o.asnDocumentId)}">\n` : '';
  return page(
    'Invoice',
    `${FORM_STYLE}${NAV}
<h1>Invoice for purchase order ${esc(po.purchaseOrderNumber)}</h1>
${saved(o)}${summary(o.problems)}<form method="post" action="/portal/invoices/new">
${hidden(o, asn)}${input('invoiceNumber', 'Invoice number', o.fields, o.problems, ' required')}
${input('invoiceDate', 'Invoice date', o.fields, o.problems, ' type="date"')}
${input('currency', 'Currency', o.fields, o.problems, ' maxlength="3"')}
${input('terms', 'Payment terms', o.fields, o.problems)}
<h2>Lines</h2>
${fieldErrors('lines', o.problems)}${lines}
<h2>Tax and charges</h2>
${input('taxRate', 'Tax rate (%)', o.fields, o.problems, ' inputmode="decimal"')}
${input('freight', 'Freight', o.fields, o.problems, ' inputmode="decimal"')}
${totalsTable(o.totals, o.fields.currency ?? '')}
<button type="submit" name="action" value="save">Save draft and compute totals</button>
<button type="submit" name="action" value="submit">Submit invoice</button>
</form>`,
  );
}

/**
 * A form has no functional acknowledgment (no envelope to answer): what acknowledges it is the
 * ERP's receipt, the deliveries' 2xx answers (an HTTP target) or the file written (a file drop).
 */
function receipt(m: Submission): string {
  const done = m.deliveries.filter((d) => d.state === 'delivered');
  if (!m.deliveries.length || done.length < m.deliveries.length) return 'not yet: the ERP has not confirmed receipt';
  const last = done.map((d) => new Date(d.deliveredAt ?? 0).getTime()).reduce((a, b) => Math.max(a, b), 0);
  return `received by ${esc(done.map((d) => d.target).join(', '))} at ${when(new Date(last))} UTC`;
}

/** What became of a submitted form: state, deliveries, acknowledgment, problems; reloads itself until settled. */
export function formSubmissionPage(kind: 'asn' | 'invoice', m: Submission): string {
  const doc = m.documents[0];
  const settled = !['received', 'routed'].includes(m.state);
  const deliveries = m.deliveries.map((d) => `<li>to ${esc(d.target)}: ${esc(d.state)}</li>`).join('');
  const problems = ((doc?.problems as Problem[] | null) ?? []).map((p) => `<li><code>${esc(p.code)}</code> ${esc(p.message)}</li>`).join('');
  const acks = m.acknowledgments.length ? esc(m.acknowledgments.map((a) => `${a.type} ${a.state}`).join(', ')) : receipt(m);
  const labels = kind === 'asn' ? `<p><a href="/portal/asn/${esc(m.id)}/labels.pdf">Print carton labels</a></p>\n` : '';
  const invoice = kind === 'asn' && doc?.state === 'accepted' ? `<p><a href="/portal/invoices/new?asn=${esc(m.id)}">Invoice this shipment</a></p>\n` : '';
  return page(
    kind === 'asn' ? 'Ship notice' : 'Invoice',
    `${NAV}
<h1>${kind === 'asn' ? 'Ship notice' : 'Invoice'} ${esc(doc?.documentNumber ?? '')}</h1>
<dl>
<dt>State</dt><dd id="state">${esc(m.state)}</dd>
<dt>Document</dt><dd>${esc(doc?.state ?? 'not read yet')}</dd>
<dt>Deliveries</dt><dd>${deliveries ? `<ul>${deliveries}</ul>` : 'none yet'}</dd>
<dt>Acknowledgment</dt><dd>${acks}</dd>
<dt>Message id</dt><dd><code>${esc(m.id)}</code></dd>
</dl>
${problems ? `<div class="error"><ul>${problems}</ul></div>\n` : ''}${labels}${invoice}<p><a href="/portal/submissions/${esc(m.id)}">Full timeline</a></p>`,
    settled ? {} : { refreshSeconds: 2 },
  );
}
