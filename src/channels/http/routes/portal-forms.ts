import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { GatewayError } from '../../../errors.js';
import { canonicalMediaType } from '../../../pipeline/canonical-form.js';
import { type DraftKind, type FormDraft, markDraftSubmitted, openDrafts, readDraft, saveDraft } from '../../../pipeline/form-drafts.js';
import { messageStatus } from '../../../pipeline/status.js';
import { listSubmissions } from '../../../pipeline/submissions.js';
import { findSentOrder, findShipNotice, listSentOrders, orderOfNumber, type SentOrder, type ShipNotice } from '../../../pipeline/supplier-orders.js';
import type { PortalAccess, PortalPrincipal } from '../../../security/portal-sign-in.js';
import { requireScope, WRITE_SCOPES } from '../../../security/scopes.js';
import { allocateSsccs } from '../../../store/sscc-serials.js';
import { portalPrincipalOf, portalUser, requireFormToken } from '../portal-auth.js';
import { asnFormPage, dashboardPage, formSubmissionPage, invoiceFormPage, pickOrderPage } from '../portal-forms-pages.js';
import { mediaTypeOf, readBody } from '../request.js';
import {
  asnFromForm,
  type Fields,
  type FormResult,
  invoiceFromForm,
  invoiceTotals,
  newAsnFields,
  newInvoiceFields,
  packRowsWithoutSscc,
} from '../../../pipeline/supplier-forms.js';
import type { SupplierPageDeps } from './portal-supplier.js';

type Supplier = PortalPrincipal & { partner: NonNullable<PortalPrincipal['partner']> };

/** Another partner's order, notice or draft and a missing one get this same page: the id is not repeated. */
const NOT_FOUND = () => new GatewayError('GW_NOT_FOUND', 'There is no such item for your partner.');
/** A form of a few hundred lines and packs is well under this. */
const FORM_LIMIT = 256 * 1024;
/** Form fields that are not the document's. */
const FRAME_FIELDS = new Set(['csrf', 'key', 'po', 'asn', 'draft', 'action']);
const RECENT = 10;

const supplierOf = (ctx: Context) => portalPrincipalOf(ctx) as Supplier;
const today = () => new Date().toISOString().slice(0, 10);
const query = (ctx: Context, name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : '');

/**
 * The supplier's dashboard and its ship-notice and invoice forms (decision 0028). A submitted form
 * is a canonical document that goes to the same receiver as every other door, over the `portal`
 * channel, with a content type naming its canonical type.
 */
export function supplierFormRoutes(router: Router, d: SupplierPageDeps, access: PortalAccess): void {
  const supplier = portalUser(access, ['supplier']);
  router.get('/portal/', portalUser(access, 'any'), async (ctx, next) => {
    if (portalPrincipalOf(ctx).role !== 'supplier') return next();
    const p = supplierOf(ctx);
    const [orders, submissions, drafts] = await Promise.all([
      listSentOrders(d.knex, p.partner.id),
      listSubmissions(d.knex, p.partner.id, RECENT),
      openDrafts(d.knex, p.partner.id),
    ]);
    ctx.type = 'html';
    ctx.body = dashboardPage(p, { orders, submissions, drafts });
  });
  router.get('/portal/asn/new', supplier, async (ctx) => showForm(ctx, d, 'asn'));
  router.get('/portal/invoices/new', supplier, async (ctx) => showForm(ctx, d, 'invoice'));
  router.post('/portal/asn/new', supplier, async (ctx) => postForm(ctx, d, 'asn'));
  router.post('/portal/invoices/new', supplier, async (ctx) => postForm(ctx, d, 'invoice'));
  router.get('/portal/asn/:id', supplier, async (ctx) => showSubmitted(ctx, d, 'asn'));
  router.get('/portal/invoices/:id', supplier, async (ctx) => showSubmitted(ctx, d, 'invoice'));
}

/** What a form is opened from: an order, and for an invoice perhaps the ship notice it bills. */
interface FormSource {
  order: SentOrder;
  asn?: ShipNotice | undefined;
  draft?: FormDraft | undefined;
}

async function sourceOf(ctx: Context, d: SupplierPageDeps, kind: DraftKind, ids: { po: string; asn: string; draft: string }): Promise<FormSource | undefined> {
  const partner = supplierOf(ctx).partner.id;
  if (ids.draft) {
    const draft = await readDraft(d.knex, partner, ids.draft);
    if (!draft || draft.kind !== kind || draft.submittedMessageId) throw NOT_FOUND();
    const order = await findSentOrder(d.knex, partner, draft.orderDocumentId);
    const asn = draft.asnDocumentId ? await findShipNotice(d.knex, partner, draft.asnDocumentId) : undefined;
    return order ? { order, asn, draft } : undefined;
  }
  if (kind === 'invoice' && ids.asn) {
    const asn = await findShipNotice(d.knex, partner, ids.asn);
    const number = asn?.asn.orders[0]?.purchaseOrderNumber;
    const order = number ? await orderOfNumber(d.knex, partner, number) : undefined;
    return asn && order ? { order, asn } : undefined;
  }
  if (ids.po) {
    const order = await findSentOrder(d.knex, partner, ids.po);
    return order ? { order } : undefined;
  }
  return undefined;
}

async function showForm(ctx: Context, d: SupplierPageDeps, kind: DraftKind): Promise<void> {
  const p = supplierOf(ctx);
  const ids = { po: query(ctx, 'po'), asn: query(ctx, 'asn'), draft: query(ctx, 'draft') };
  ctx.type = 'html';
  if (!ids.po && !ids.asn && !ids.draft) {
    ctx.body = pickOrderPage(kind, await listSentOrders(d.knex, p.partner.id));
    return;
  }
  const source = await sourceOf(ctx, d, kind, ids);
  if (!source) throw NOT_FOUND();
  const count = source.order.linked.filter((l) => l.type === kind).length;
  const fields =
    source.draft?.fields ??
    (kind === 'asn' ? newAsnFields(source.order.order, count, today()) : newInvoiceFields(source.order.order, source.asn?.asn, count, today()));
  ctx.body = renderForm(kind, { p, source, fields, problems: [], formKey: randomUUID() });
}

interface FormView {
  p: Supplier;
  source: FormSource;
  fields: Fields;
  problems: FormResult['problems'];
  formKey: string;
  saved?: boolean;
  numbered?: readonly string[];
}

function renderForm(kind: DraftKind, o: FormView): string {
  const frame = {
    csrfToken: o.p.session.csrfToken,
    formKey: o.formKey,
    order: o.source.order,
    fields: o.fields,
    problems: o.problems,
    draftId: o.source.draft?.id,
    ...(o.saved ? { saved: true } : {}),
  };
  if (kind === 'asn') return asnFormPage({ ...frame, canNumber: o.p.partner.gs1 !== undefined, ...(o.numbered ? { numbered: o.numbered } : {}) });
  return invoiceFormPage({ ...frame, asnDocumentId: o.source.asn?.documentId, totals: invoiceTotals(o.source.order.order, o.fields) });
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
    throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Portal forms are posted as application/x-www-form-urlencoded.');
  return new URLSearchParams((await readBody(ctx, FORM_LIMIT, ' for a portal form')).toString('utf8'));
}

/**
 * Saves the form as a draft, or submits it: the document is checked first as interpretation will
 * check it, so problems come back beside their fields and nothing is sent; a valid one goes to the
 * receiver, its idempotency key the form's one-time key (posting twice stores one message).
 */
async function postForm(ctx: Context, d: SupplierPageDeps, kind: DraftKind): Promise<void> {
  const p = supplierOf(ctx);
  const form = await readForm(ctx);
  requireFormToken(p.session.csrfToken, form.get('csrf'));
  const source = await sourceOf(ctx, d, kind, { po: form.get('po') ?? '', asn: form.get('asn') ?? '', draft: form.get('draft') ?? '' });
  if (!source) throw NOT_FOUND();
  const fields: Fields = {};
  for (const [name, value] of form) if (!FRAME_FIELDS.has(name)) fields[name] = value;
  const key = /^[0-9a-f-]{36}$/.test(form.get('key') ?? '') ? (form.get('key') as string) : randomUUID();
  const answer = (status: number, problems: FormResult['problems'], saved = false, src = source, numbered?: string[]) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = renderForm(kind, { p, source: src, fields, problems, formKey: key, saved, ...(numbered ? { numbered } : {}) });
  };
  const numbered = kind === 'asn' && form.get('action') === 'number' ? await numberPacks(d, p, fields) : undefined;
  if (form.get('action') === 'save' || numbered) {
    const draft = await saveDraft(d.knex, p.partner.id, p.username, {
      ...(source.draft ? { id: source.draft.id } : {}),
      kind,
      orderDocumentId: source.order.documentId,
      asnDocumentId: source.asn?.documentId ?? null,
      fields,
    });
    if (!draft) throw NOT_FOUND();
    return answer(200, [], true, { ...source, draft }, numbered);
  }
  requireScope(p.scopes, WRITE_SCOPES[kind], `Submitting a ${kind}`);
  const result = kind === 'asn' ? asnFromForm(source.order.order, fields) : invoiceFromForm(source.order.order, fields);
  if (result.problems.length) return answer(422, result.problems);
  const bytes = Buffer.from(JSON.stringify(result.document), 'utf8');
  const limit = Math.min(p.partner.limits.maxBytes, d.maxBodyBytes);
  if (bytes.length > limit) throw new GatewayError('GW_REQUEST_TOO_LARGE', `The ${kind} exceeds the limit of ${limit} bytes for partner ${p.partner.id}.`);
  const receipt = await d.receiver.receive({
    partnerId: p.partner.id,
    channel: 'portal',
    contentType: canonicalMediaType(kind, 1),
    format: 'json',
    bytes,
    scopes: [...p.scopes],
    idempotencyKey: `portal:${key}`,
  });
  if (source.draft) await markDraftSubmitted(d.knex, p.partner.id, source.draft.id, receipt.messageId);
  ctx.status = 303;
  ctx.redirect(`/portal/${kind === 'asn' ? 'asn' : 'invoices'}/${receipt.messageId}`);
}

/**
 * Gives each pack row that names a line but no SSCC a new one from the partner's GS1 company prefix
 * (its counter in the database, so no SSCC is handed out twice); answers the SSCCs given.
 */
async function numberPacks(d: SupplierPageDeps, p: Supplier, fields: Fields): Promise<string[]> {
  const rows = packRowsWithoutSscc(fields);
  if (!rows.length) return [];
  const ssccs = await allocateSsccs(d.knex, p.partner, rows.length);
  rows.forEach((row, i) => {
    fields[`pack.${row}.sscc`] = ssccs[i] as string;
  });
  return ssccs;
}

async function showSubmitted(ctx: Context, d: SupplierPageDeps, kind: DraftKind): Promise<void> {
  const status = await messageStatus(d.knex, supplierOf(ctx).partner.id, ctx.params.id ?? '');
  if (status?.direction !== 'inbound' || status.contentType !== canonicalMediaType(kind, 1)) throw NOT_FOUND();
  ctx.type = 'html';
  ctx.body = formSubmissionPage(kind, status);
}
