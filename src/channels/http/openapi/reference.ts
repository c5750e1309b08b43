import { json, section, SECURITY } from './section.js';

export const referenceApi = section(import.meta.url, {
  tag: { name: 'API reference', description: 'This document. Its readable form is the page /docs/api.' },
  owns: ['/openapi.json'],
  paths: {
    '/openapi.json': {
      get: {
        summary: 'This OpenAPI 3.1 document',
        security: SECURITY.none,
        responses: { '200': json('The document.', { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { const: '3.1.0' } } }) },
      },
    },
  },
});
