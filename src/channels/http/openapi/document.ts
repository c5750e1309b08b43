import { adminApi } from './admin.js';
import { as2Api } from './as2.js';
import { components } from './components.js';
import { erpApi } from './erp.js';
import { healthApi } from './health.js';
import { oauthApi } from './oauth.js';
import { opsApi } from './ops.js';
import { partnerApi } from './partner.js';
import { partnersApi } from './partners.js';
import { portalApi } from './portal-api.js';
import { referenceApi } from './reference.js';
import type { Paths, Section } from './section.js';
import { webhookApi } from './webhooks.js';

/** Every section of the document, one per audience; a new audience's section file is listed here. */
export const SECTIONS: readonly Section[] = [
  partnerApi,
  webhookApi,
  oauthApi,
  as2Api,
  erpApi,
  opsApi,
  partnersApi,
  adminApi,
  portalApi,
  healthApi,
  referenceApi,
];

let built: object | undefined;

/**
 * The OpenAPI 3.1 document of the HTTP app (served at /openapi.json): the sections' paths, each
 * operation tagged with its section, and the shared components. Built once: it is data.
 * @see https://spec.openapis.org/oas/v3.1.0
 */
export function openApiDocument(version: string): object {
  built ??= {
    openapi: '3.1.0',
    info: {
      title: 'Partner gateway',
      version,
      summary: 'Receive supplier documents over any channel, map them to canonical JSON, route them durably to the ERP.',
      description:
        'Every error is the ErrorAnswer shape with a stable code (docs/errors.md). Partners send in their own formats; ' +
        'the canonical documents (components) are what the ERP receives and sends.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: SECTIONS.map((s) => s.tag),
    paths: Object.assign({}, ...SECTIONS.map(tagged)) as Paths,
    components: components(),
  };
  return built;
}

function tagged(s: Section): Paths {
  return Object.fromEntries(
    Object.entries(s.paths).map(([p, item]) => [p, Object.fromEntries(Object.entries(item).map(([m, op]) => [m, { tags: [s.tag.name], ...op }]))]),
  );
}
