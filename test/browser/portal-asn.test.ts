import assert from 'node:assert/strict';
import { browserSuite, submitForm, signIn } from '../helpers/browser.js';
import { addUserByCli } from '../helpers/cli.js';
import { gatewaySuite, waitFor } from '../helpers/gateway.js';
import { ERP_ORDER, sendOrder } from '../helpers/orders.js';
import { pdfPages } from '../helpers/pdf.js';

const PASSWORD = 'sue ships on time';
/** A carton's SSCC with a right GS1 check digit (the GS1 specification's own example). */
const SSCC = '376104250021234569';

describe('supplier ship notice and invoice by form in a real browser (headless Chromium, real server, ERP receiver)', function () {
  this.timeout(240_000);
  const suite = gatewaySuite();
  const b = browserSuite(() => ({ baseURL: suite.url, viewport: { width: 1280, height: 900 } }));

  before(() => addUserByCli(suite, ['sue', '--role', 'supplier', '--partner', 'acme-supply', '--name', 'Sue Supplier'], PASSWORD));

  it('the ERP orders; the supplier ships it by form (draft, then submit) and invoices the shipment; the ERP receives both', async () => {
    const { page } = b;
    const sent = await sendOrder(suite.url, ERP_ORDER);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));

    await signIn(page, 'sue', PASSWORD);
    const order = page.getByRole('row', { name: new RegExp(`^${ERP_ORDER.purchaseOrderNumber} `) });
    await order.waitFor();
    assert.match((await order.textContent()) ?? '', /none yet/);
    await b.screenshot('portal-supplier-dashboard');

    await order.getByRole('link', { name: 'Ship (ASN)' }).click();
    await page.waitForURL(/\/portal\/asn\/new\?po=/);
    assert.equal(await page.getByLabel('Shipped quantity of line 1').inputValue(), '24', 'prefilled with the ordered quantity');
    await page.getByLabel('Shipped quantity of line 1').fill('20');
    await page.getByLabel('Ship date').fill('2026-12-01');
    await page.getByLabel('Carrier').fill('UPS');
    await page.getByLabel('Tracking number').fill('1Z999AA10123456784');
    await page.getByLabel('SSCC of pack 1').fill(SSCC);
    await page.getByLabel('Kind of pack 1').selectOption('carton');
    await page.getByLabel('Line in pack 1').selectOption({ label: 'line 1: INT-100 BLUE WIDGET' });
    await page.getByLabel('Quantity in pack 1').fill('20');
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Save draft' }).click())).status(), 200);
    await page.getByText('Draft saved.').waitFor();
    assert.equal(await page.getByLabel('SSCC of pack 1').inputValue(), SSCC, 'the draft keeps what was typed');
    await b.screenshot('portal-supplier-asn-form');
    await page.setViewportSize({ width: 375, height: 667 });
    assert.equal(await page.evaluate<number>('document.documentElement.scrollWidth'), 375, 'the form fits a phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Submit ship notice' }).click())).status(), 303);
    await page.waitForURL(/\/portal\/asn\/[0-9a-f-]{36}$/);
    const asnId = /\/portal\/asn\/([0-9a-f-]{36})$/.exec(page.url())?.[1] as string;
    // The page reloads itself until the delivery is settled.
    await page.locator('#state', { hasText: 'delivered' }).waitFor({ timeout: 30_000 });
    assert.match((await page.locator('dl').textContent()) ?? '', /Acknowledgment\s*received by erp-drop, erp-http at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.equal(await page.getByRole('link', { name: 'Print carton labels' }).getAttribute('href'), `/portal/asn/${asnId}/labels.pdf`);
    // The labels match the notice's packs: one carton, its SSCC and the order on the page.
    const labels = await page.request.get(`/portal/asn/${asnId}/labels.pdf`);
    assert.equal(labels.headers()['content-type'], 'application/pdf');
    const pages = await pdfPages(await labels.body());
    assert.equal(pages.length, 1, 'one label per carton');
    for (const s of [`(00)${SSCC}`, ERP_ORDER.purchaseOrderNumber, 'Carton 1 of 1', 'UPS', '1Z999AA10123456784'])
      assert.ok(pages[0]?.includes(s), `the label lacks "${s}": ${pages[0]}`);
    const asn = suite.erp.requests.find((q) => q.body.type === 'asn')?.body.document as Record<string, any>;
    assert.ok(asn, 'the ERP received the ship notice');
    assert.deepEqual(
      [asn.shipmentId, asn.shipDate, asn.carrier, asn.trackingNumber, asn.totals],
      [`${ERP_ORDER.purchaseOrderNumber}-1`, '2026-12-01', { name: 'UPS' }, '1Z999AA10123456784', { packages: 1 }],
    );
    assert.deepEqual(
      asn.orders[0].items.map((i: Record<string, unknown>) => [i.lineNumber, i.quantity, i.unit, i.packageId ?? null]),
      [
        ['1', 20, 'each', SSCC],
        ['2', 2, 'case', null],
      ],
    );

    await page.getByRole('link', { name: 'Invoice this shipment' }).click();
    await page.waitForURL(/\/portal\/invoices\/new\?asn=/);
    assert.equal(await page.getByLabel('Quantity invoiced of line 1').inputValue(), '20', 'the shipped quantity, not the ordered one');
    assert.equal(await page.getByLabel('Unit price of line 1').inputValue(), '1.25', "the order's price");
    await page.getByLabel('Tax rate (%)').fill('8');
    await page.getByLabel('Freight').fill('12.50');
    await submitForm(page, () => page.getByRole('button', { name: 'Save draft and compute totals' }).click());
    // 20 × 1.25 + 2 × 30 = 85; tax 8 % = 6.80; freight 12.50.
    assert.match((await page.getByRole('row', { name: /Total due/ }).textContent()) ?? '', /104\.30 USD/);
    await b.screenshot('portal-supplier-invoice-form');
    assert.equal((await submitForm(page, () => page.getByRole('button', { name: 'Submit invoice' }).click())).status(), 303);
    await page.waitForURL(/\/portal\/invoices\/[0-9a-f-]{36}$/);
    await page.locator('#state', { hasText: 'delivered' }).waitFor({ timeout: 30_000 });
    const invoice = await waitFor(
      'the invoice at the ERP',
      async () => suite.erp.requests.find((q) => q.body.type === 'invoice')?.body.document as Record<string, any> | undefined,
      Boolean,
    );
    assert.deepEqual(
      [invoice?.purchaseOrderNumber, invoice?.subtotalAmount, invoice?.taxAmount, invoice?.shippingAmount, invoice?.totalAmount],
      [ERP_ORDER.purchaseOrderNumber, 85, 6.8, 12.5, 104.3],
    );

    await page.getByRole('link', { name: 'Home' }).click();
    await page.waitForURL('**/portal/');
    const linked = (await page.getByRole('row', { name: new RegExp(`^${ERP_ORDER.purchaseOrderNumber} `) }).textContent()) ?? '';
    assert.match(linked, /asn PO-20261123-01-1 \(accepted\)/);
    assert.match(linked, /invoice PO-20261123-01-INV1 \(accepted\)/);
    await b.screenshot('portal-supplier-dashboard-linked');
  });
});
