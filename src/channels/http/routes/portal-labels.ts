import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { AsnV1 } from '../../../canonical/types.js';
import { GatewayError } from '../../../errors.js';
import { cartonLabelsOfAsn } from '../../../formats/gs1/asn-labels.js';
import { cartonLabelsPdf } from '../../../formats/gs1/labels.js';
import { messageStatus } from '../../../pipeline/status.js';
import type { PortalAccess, PortalPrincipal } from '../../../security/portal-sign-in.js';
import { portalPrincipalOf, portalUser } from '../portal-auth.js';

/** Another partner's message and a missing one get this same answer: the id is not repeated. */
const NOT_FOUND = () => new GatewayError('GW_NOT_FOUND', 'There is no such item for your partner.');

/**
 * GS1-128 carton labels for a ship notice the supplier sent (decision 0029): one 4×6 inch page per
 * carton the notice names, shipped from the supplier's partner. The message must be the partner's
 * own inbound message; the labels come from its accepted ship notices, in the order they were sent.
 */
export function labelRoutes(router: Router, d: { knex: Knex }, access: PortalAccess): void {
  router.get('/portal/asn/:id/labels.pdf', portalUser(access, ['supplier']), async (ctx) => {
    const { partner } = portalPrincipalOf(ctx) as PortalPrincipal & { partner: NonNullable<PortalPrincipal['partner']> };
    const status = await messageStatus(d.knex, partner.id, ctx.params.id ?? '');
    if (status?.direction !== 'inbound') throw NOT_FOUND();
    const notices = status.documents.filter((doc) => doc.type === 'asn' && doc.state === 'accepted' && doc.canonical) as { canonical: AsnV1 }[];
    if (notices.length === 0)
      throw new GatewayError('GW_LABELS_NO_CARTONS', 'This submission holds no accepted ship notice (yet): carton labels are printed from one.');
    const labels = notices.flatMap((n) => cartonLabelsOfAsn(n.canonical, partner.name));
    const pdf = await cartonLabelsPdf(labels);
    ctx.set('content-type', 'application/pdf');
    ctx.set('content-disposition', `attachment; filename="labels-${fileNamePart(notices[0]?.canonical.shipmentId ?? '')}.pdf"`);
    ctx.body = pdf;
  });
}

/** A shipment id is the supplier's text: only letters, digits, dot, dash and underscore reach the header. */
function fileNamePart(shipmentId: string): string {
  return shipmentId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'shipment';
}
