import { errors, json, section, SECURITY } from './section.js';

export const portalApi = section(import.meta.url, {
  tag: { name: 'Portal API', description: 'The JSON calls of the portal’s own pages (its HTML pages are for browsers and not described here).' },
  owns: ['/portal/api/'],
  paths: {
    '/portal/api/me': {
      get: {
        summary: 'The signed-in portal user',
        security: SECURITY.portal,
        responses: {
          '200': json('The user, their role and (suppliers) partner and scopes.', {
            type: 'object',
            required: ['username', 'displayName', 'role', 'partner', 'scopes'],
            additionalProperties: false,
            properties: {
              username: { type: 'string' },
              displayName: { type: ['string', 'null'] },
              role: { type: 'string' },
              partner: { type: ['string', 'null'] },
              scopes: { type: 'array', items: { type: 'string' } },
            },
          }),
          ...errors(401, 403),
        },
      },
    },
  },
});
