/**
 * Starting points for a new partner (the portal's "New partner", issue 19): the files a partner
 * manager would otherwise write by hand, as README's "Add a partner" shows them. The partner starts
 * in `onboarding`; until it is live its documents go to a test file drop only (decision 0034).
 */

export interface PartnerTemplate {
  label: string;
  /** The files to write, relative to partners/ and mappings/. */
  files(p: { id: string; name: string; erpUrl: string }): { partner: string; mappings: Record<string, string> };
}

/** Partner ids: the file name, a URL segment and a folder name all at once. */
export const PARTNER_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

const quoted = (text: string) => JSON.stringify(text);

const restCsvAsn: PartnerTemplate = {
  label: 'REST + CSV ship notices (Shipment, Shipped, Tracking, PO, SKU, Qty, UOM)',
  files: ({ id, name, erpUrl }) => ({
    partner: `# yaml-language-server: $schema=../src/config/partner.schema.json
# Made from the portal's template "REST + CSV ship notices"; edit freely, the file is the configuration.
id: ${id}
name: ${quoted(name)}
state: onboarding
channels: [rest]
credentials:
  # Keys issued in the portal live in the credential store; keys listed here are the profile's own.
  apiKeys: []
inbound:
  - { type: asn, mapping: ${id}/asn-csv }
routes:
  # Until the partner is live, its documents go only to the test route.
  - types: [asn]
    test: true
    target: { id: test-drop, kind: file, dir: "\${GATEWAY_DATA_DIR}/test-drop" }
  - types: [asn]
    target: { id: erp, kind: http, url: ${quoted(erpUrl)} }
`,
    mappings: {
      'asn-csv.yaml': `# yaml-language-server: $schema=../../src/config/mapping.schema.json
id: ${id}/asn-csv
version: 1
source: { format: csv, header: true, groupBy: Shipment, match: { columns: [Shipment, PO, SKU] } }
target: { type: asn, version: 1 }
codeLists:
  units: { EA: each, CS: case }
fields:
  shipmentId: { from: Shipment, required: true }
  shipDate: { from: Shipped, transform: { date: MM/DD/CCYY }, required: true }
  trackingNumber: Tracking
  orders:
    each: rows
    fields:
      purchaseOrderNumber: { from: PO, required: true }
      items:
        list:
          - fields:
              vendorSku: { from: SKU, required: true }
              quantity: { from: Qty, transform: number, required: true }
              unit: { from: UOM, transform: { codeList: units }, required: true }
`,
    },
  }),
};

export const PARTNER_TEMPLATES: Readonly<Record<string, PartnerTemplate>> = { 'rest-csv-asn': restCsvAsn };
