import { generateApiKey } from '../../src/security/api-keys.js';

/** A new supplier's API key (its profile below names its hash). */
export const NOVA = generateApiKey('novaparts');

/** A new supplier: onboarding, one test route (the test ERP) and one production route (the ERP). */
export const novaProfile = (testErpUrl: string, erpUrl: string) => `id: nova-parts
name: Nova Parts (test)
state: onboarding
channels: [rest]
credentials:
  apiKeys:
    - { id: novaparts, sha256: ${NOVA.sha256} }
inbound:
  - { type: asn, mapping: northwind/asn-json }
routes:
  - types: [asn]
    test: true
    target: { id: erp-test, kind: http, url: "${testErpUrl}", timeoutMs: 2000 }
  - types: [asn]
    target: { id: erp-http, kind: http, url: "${erpUrl}", timeoutMs: 2000 }
`;
