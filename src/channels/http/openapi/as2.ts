import { section, SECURITY } from './section.js';

export const as2Api = section(import.meta.url, {
  tag: {
    name: 'AS2',
    description: 'AS2 (RFC 4130) from trading partners. The agreement (AS2-From, AS2-To) and the message’s own signature identify the partner.',
  },
  owns: ['/as2'],
  paths: {
    '/as2': {
      post: {
        summary: 'Receive an AS2 message and answer its MDN',
        description:
          'A signed and/or encrypted S/MIME entity with the AS2 headers. A synchronous MDN is the answer; an asynchronous one ' +
          '(Receipt-Delivery-Option) is sent later and the answer is empty. Errors are MDN dispositions, not JSON.',
        security: SECURITY.none,
        parameters: ['AS2-From', 'AS2-To', 'Message-ID', 'Disposition-Notification-To', 'Disposition-Notification-Options', 'Receipt-Delivery-Option'].map(
          (name) => ({ name, in: 'header', required: ['AS2-From', 'AS2-To', 'Message-ID'].includes(name), schema: { type: 'string' } }),
        ),
        requestBody: {
          required: true,
          content: {
            'application/pkcs7-mime': { schema: { type: 'string', contentEncoding: 'binary' } },
            'multipart/signed': { schema: { type: 'string' } },
            'application/edi-x12': { schema: { type: 'string' } },
          },
        },
        responses: {
          '200': { description: 'A synchronous MDN (multipart/report, signed when asked).', content: { 'multipart/report': { schema: { type: 'string' } } } },
          '202': { description: 'Taken; the MDN goes to Receipt-Delivery-Option.' },
          '400': { description: 'Not an AS2 message (missing AS2 headers).', content: { 'text/plain': { schema: { type: 'string' } } } },
          '404': { description: 'The AS2 door is off (AS2=off).', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorAnswer' } } } },
        },
      },
    },
  },
});
