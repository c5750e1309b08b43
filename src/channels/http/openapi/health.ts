import { json, section, SECURITY } from './section.js';

const STATUS = (value: string) => ({ type: 'object', required: ['status'], properties: { status: { const: value } } });

export const healthApi = section(import.meta.url, {
  tag: { name: 'Health and metrics', description: 'What an orchestrator and a monitoring system ask.' },
  owns: ['/healthz', '/readyz', '/metrics'],
  paths: {
    '/healthz': {
      get: { summary: 'Liveness: the process answers', security: SECURITY.none, responses: { '200': json('Alive.', STATUS('ok')) } },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: the database answers',
        security: SECURITY.none,
        responses: {
          '200': json('Ready to take traffic.', STATUS('ready')),
          '503': json('The database is not reachable.', {
            ...STATUS('unavailable'),
            properties: { status: { const: 'unavailable' }, error: { type: 'object' } },
          }),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (credential expiry)',
        security: SECURITY.admin,
        responses: {
          '200': { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } },
          '401': { $ref: '#/components/responses/Error401' },
        },
      },
    },
  },
});
