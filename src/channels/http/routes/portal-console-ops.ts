import Router from '@koa/router';
import type { Knex } from 'knex';
import { deadLetters, stuckWork } from '../../../pipeline/dead-letters.js';
import { opsStats, statsWindow } from '../../../pipeline/ops-stats.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import { portalPrincipalOf, portalUser } from '../portal-auth.js';
import { chartsPage, deadLettersPage, stuckPage } from '../portal-console-ops-pages.js';
import { integerParam, textParam } from '../request.js';
import { OPS_ROLES } from './ops.js';
import { pageErrors, pageHeaders } from './portal.js';

const PAGE_SIZE = 50;
/** A form's empty field is no filter (the API refuses an empty value). */
const field = (v: unknown) => (v === '' ? undefined : v);

/** The operations console's dead letters, late work and charts (decision 0031), for the operations and admin roles. */
export function consoleOpsRoutes(knex: Knex, access: PortalAccess): Router {
  const router = new Router();
  router.use(pageHeaders, pageErrors);
  const ops = portalUser(access, OPS_ROLES);
  router.get('/portal/console/dead-letters', ops, async (ctx) => {
    const partner = textParam(field(ctx.query.partner), 'partner') ?? '';
    const target = textParam(field(ctx.query.target), 'target') ?? '';
    const result = await deadLetters(
      knex,
      { ...(partner ? { partner } : {}), ...(target ? { target } : {}) },
      PAGE_SIZE,
      textParam(ctx.query.cursor, 'cursor', 100),
    );
    const next = result.nextCursor ? new URLSearchParams({ ...(partner ? { partner } : {}), ...(target ? { target } : {}), cursor: result.nextCursor }) : null;
    ctx.type = 'html';
    ctx.body = deadLettersPage({ csrfToken: portalPrincipalOf(ctx).session.csrfToken, partner, target, result, nextQuery: next?.toString() ?? null });
  });
  router.get('/portal/console/stuck', ops, async (ctx) => {
    const minutes = integerParam(ctx.query.olderThanMinutes, 'olderThanMinutes', { min: 0, max: 525_600, fallback: 15, text: true });
    ctx.type = 'html';
    ctx.body = stuckPage(await stuckWork(knex, minutes, PAGE_SIZE));
  });
  router.get('/portal/console/charts', ops, async (ctx) => {
    const partner = textParam(field(ctx.query.partner), 'partner');
    ctx.type = 'html';
    ctx.body = chartsPage(await opsStats(knex, statsWindow(textParam(field(ctx.query.window), 'window', 10)), partner || undefined));
  });
  return router;
}
