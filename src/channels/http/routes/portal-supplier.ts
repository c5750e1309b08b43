import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import { GatewayError } from '../../../errors.js';
import { listMailbox, readMailboxItem } from '../../../pipeline/outbound.js';
import { messageStatus } from '../../../pipeline/status.js';
import { listSubmissions } from '../../../pipeline/submissions.js';
import type { PortalAccess, PortalPrincipal } from '../../../security/portal-sign-in.js';
import { mailboxScope, requireScope } from '../../../security/scopes.js';
import type { SourceFormat } from '../../../types.js';
import { type MessageIntakeDeps, requireWriteScope } from '../accept-message.js';
import { portalPrincipalOf, portalUser, requireFormToken } from '../portal-auth.js';
import { mailboxPage, submissionPage, submissionsPage, UPLOAD_FORMATS, uploadPage } from '../portal-supplier-pages.js';
import { mediaTypeOf, readBody } from '../request.js';
import { readUploadForm, type UploadForm } from '../upload-form.js';

export interface SupplierPageDeps extends MessageIntakeDeps {
  knex: Knex;
}

const PAGE_SIZE = 50;
const MEDIA_TYPE: Record<SourceFormat, string> = {
  x12: 'application/edi-x12',
  edifact: 'application/edifact',
  xml: 'application/xml',
  csv: 'text/csv',
  json: 'application/json',
};
/** Another partner's id and a missing one get this same page, byte for byte: the id is not repeated. */
const NOT_FOUND = () => new GatewayError('GW_NOT_FOUND', 'There is no such item for your partner.');

/**
 * A supplier's pages (issue 18): its submissions, a file upload through the same receiver as the
 * REST door, and its mailbox. The partner is always the session's; nothing in a URL or form names one.
 */
export function supplierRoutes(router: Router, d: SupplierPageDeps, access: PortalAccess): void {
  const supplier = portalUser(access, ['supplier']);
  router.get('/portal/submissions', supplier, async (ctx) => {
    const p = supplierOf(ctx);
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined;
    ctx.type = 'html';
    ctx.body = submissionsPage(p, await listSubmissions(d.knex, p.partner.id, PAGE_SIZE, cursor));
  });
  router.get('/portal/submissions/:id', supplier, async (ctx) => {
    const status = await messageStatus(d.knex, supplierOf(ctx).partner.id, ctx.params.id ?? '');
    if (status?.direction !== 'inbound') throw NOT_FOUND();
    ctx.type = 'html';
    ctx.body = submissionPage(status);
  });
  router.get('/portal/upload', supplier, (ctx) => {
    ctx.type = 'html';
    ctx.body = uploadPage({ csrfToken: supplierOf(ctx).session.csrfToken, uploadKey: randomUUID() });
  });
  router.post('/portal/upload', supplier, async (ctx) => upload(ctx, d));
  router.get('/portal/mailbox', supplier, async (ctx) => {
    const p = supplierOf(ctx);
    ctx.type = 'html';
    ctx.body = mailboxPage(
      p,
      (await listMailbox(d.knex, p.partner.id)).filter((i) => p.scopes.has(mailboxScope(i.type))),
    );
  });
  router.get('/portal/mailbox/:id', supplier, async (ctx) => {
    const p = supplierOf(ctx);
    const item = await readMailboxItem(d.knex, p.partner.id, ctx.params.id ?? '');
    if (!item) throw NOT_FOUND();
    requireScope(p.scopes, mailboxScope(item.type), `Reading a ${item.type}`);
    ctx.set('content-type', item.contentType);
    ctx.set('content-disposition', `attachment; filename="${item.fileName}"`);
    ctx.body = item.raw;
  });
}

type Supplier = PortalPrincipal & { partner: NonNullable<PortalPrincipal['partner']> };

/** A supplier user always has a partner (users.ts refuses one without). */
function supplierOf(ctx: Context): Supplier {
  return portalPrincipalOf(ctx) as Supplier;
}

/**
 * The chosen or pasted file goes to the receiver as the REST door's body would, with the partner's
 * scopes; the form's one-time key is the idempotency key, so posting the same form twice stores one message.
 */
async function upload(ctx: Context, d: SupplierPageDeps): Promise<void> {
  const p = supplierOf(ctx);
  const limit = Math.min(p.partner.limits.maxBytes, d.maxBodyBytes);
  const { fields: form, file } = await readForm(ctx, p, limit);
  requireFormToken(p.session.csrfToken, form.get('csrf'));
  const format = form.get('format') ?? '';
  const bytes = file?.bytes ?? Buffer.from(form.get('content') ?? '', 'utf8');
  const key = form.get('key') ?? '';
  const refuse = (error: string) => {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = uploadPage({ csrfToken: p.session.csrfToken, uploadKey: randomUUID(), format, content: form.get('content') ?? '', error });
  };
  if (!(format in UPLOAD_FORMATS)) return refuse(`Choose one of the formats ${Object.values(UPLOAD_FORMATS).join(', ')}.`);
  if (file && form.get('content')) return refuse('Choose a file or paste its content, not both.');
  if (bytes.length === 0) return refuse('The file is empty: choose a file or paste its content.');
  if (bytes.length > limit) throw new GatewayError('GW_REQUEST_TOO_LARGE', `The file exceeds the limit of ${limit} bytes for partner ${p.partner.id}.`);
  requireWriteScope(d.config(), p, format as SourceFormat);
  const receipt = await d.receiver.receive({
    partnerId: p.partner.id,
    channel: 'portal',
    contentType: MEDIA_TYPE[format as SourceFormat],
    format: format as SourceFormat,
    bytes,
    scopes: [...p.scopes],
    ...(file?.name ? { fileName: file.name } : {}),
    ...(/^[0-9a-f-]{36}$/.test(key) ? { idempotencyKey: `portal:${key}` } : {}),
  });
  ctx.status = 303;
  ctx.redirect(`/portal/submissions/${receipt.messageId}`);
}

/** The form with a chosen file (multipart, streamed) or the paste-only form (urlencoded). */
async function readForm(ctx: Context, p: Supplier, limit: number): Promise<UploadForm> {
  const whose = ` for partner ${p.partner.id}`;
  const type = mediaTypeOf(ctx);
  if (type === 'multipart/form-data') return readUploadForm(ctx, limit, whose, (fields) => requireFormToken(p.session.csrfToken, fields.get('csrf')));
  if (type !== 'application/x-www-form-urlencoded')
    throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'The upload form is posted as multipart/form-data or application/x-www-form-urlencoded.');
  // Percent-encoding can triple a file's size on the way.
  return { fields: new URLSearchParams((await readBody(ctx, limit * 3 + 1024, whose)).toString('utf8')) };
}
