import bwipjs from 'bwip-js';
import PDFDocument from 'pdfkit';
import { GatewayError } from '../../errors.js';
import { isValidSscc } from './sscc.js';

/**
 * GS1-128 carton labels as a PDF, one 4×6 inch page per carton (the dock label size thermal printers
 * take). Pure: labels in, PDF bytes out; where the labels come from is the caller's business.
 */

export interface CartonLabel {
  /** 18 digits with the GS1 check digit. */
  sscc: string;
  shipFrom: { name: string; lines: string[] };
  shipTo: { name: string; lines: string[] };
  poNumber: string;
  shipmentId: string;
  carrier?: string;
  trackingNumber?: string;
  shipDate?: string;
  /** Carton n of m. */
  carton: number;
  of: number;
}

/** 4 × 6 inches in PDF points (72 per inch). */
export const LABEL_SIZE: readonly [number, number] = [4 * 72, 6 * 72];
const MARGIN = 14;
const WIDTH = LABEL_SIZE[0] - 2 * MARGIN;
const COLUMN = (WIDTH - 8) / 2;
/** GS1 logistics labels ask for bars at least 31.75 mm (90 pt) high; a little more scans easier. */
const BAR_HEIGHT = 100;

/** The human-readable line under the barcode: the AI in brackets, then the SSCC. */
export function ssccElementString(sscc: string): string {
  return `(00)${sscc}`;
}

/**
 * The GS1-128 symbol of `(00)` + SSCC as a PNG, with the quiet zones a scanner needs. bwip-js puts
 * FNC1 first (what makes it GS1-128 rather than plain Code 128) and checks the SSCC's check digit.
 */
export async function ssccBarcodePng(sscc: string): Promise<Buffer> {
  requireSscc(sscc);
  return bwipjs.toBuffer({
    bcid: 'gs1-128',
    text: ssccElementString(sscc),
    scale: 4,
    height: 30,
    paddingwidth: 12,
    paddingheight: 4,
    backgroundcolor: 'FFFFFF',
  });
}

/** One 4×6 inch page per label, in the order given. */
export async function cartonLabelsPdf(labels: readonly CartonLabel[]): Promise<Buffer> {
  if (labels.length === 0) throw new GatewayError('GW_LABELS_NO_CARTONS', 'There is no carton to print a label for.');
  for (const label of labels) requireSscc(label.sscc);
  const barcodes = await Promise.all(labels.map((l) => ssccBarcodePng(l.sscc)));
  const doc = new PDFDocument({ size: [...LABEL_SIZE], margin: 0, autoFirstPage: false, info: { Title: 'Carton labels', Creator: 'partner-gateway' } });
  const done = collect(doc);
  for (const [i, label] of labels.entries()) drawLabel(doc, label, barcodes[i] as Buffer);
  doc.end();
  return done;
}

function requireSscc(sscc: string): void {
  if (!isValidSscc(sscc))
    throw new GatewayError('GW_SSCC_INVALID', `"${sscc}" is not an SSCC (18 digits ending in the GS1 check digit); it cannot be a carton label's barcode.`);
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

function drawLabel(doc: PDFKit.PDFDocument, label: CartonLabel, barcode: Buffer): void {
  doc.addPage();
  partyBlock(doc, 'SHIP FROM', label.shipFrom, MARGIN, 9);
  partyBlock(doc, 'SHIP TO', label.shipTo, MARGIN + COLUMN + 8, 11);
  rule(doc, 118);
  let y = 124;
  for (const [title, value] of [
    ['Carrier', label.carrier],
    ['Tracking', label.trackingNumber],
    ['Ship date', label.shipDate],
  ] as const) {
    if (!value) continue;
    field(doc, title, value, y);
    y += 14;
  }
  rule(doc, 170);
  doc.font('Helvetica').fontSize(7).text('PO NUMBER', MARGIN, 176, { lineBreak: false });
  doc.font('Helvetica-Bold').fontSize(18).text(label.poNumber, MARGIN, 186, { width: WIDTH, height: 22, ellipsis: true, lineBreak: false });
  field(doc, 'Shipment', label.shipmentId, 212);
  doc.font('Helvetica-Bold').fontSize(16).text(`Carton ${label.carton} of ${label.of}`, MARGIN, 232, { width: WIDTH, lineBreak: false });
  rule(doc, 260);
  doc.font('Helvetica').fontSize(7).text('SSCC', MARGIN, 266, { lineBreak: false });
  doc.image(barcode, MARGIN, 280, { width: WIDTH, height: BAR_HEIGHT });
  doc
    .font('Helvetica-Bold')
    .fontSize(12)
    .text(ssccElementString(label.sscc), MARGIN, 280 + BAR_HEIGHT + 8, { width: WIDTH, align: 'center', lineBreak: false });
}

function partyBlock(doc: PDFKit.PDFDocument, title: string, party: CartonLabel['shipFrom'], x: number, size: number): void {
  doc.font('Helvetica').fontSize(7).text(title, x, MARGIN, { lineBreak: false });
  doc
    .font('Helvetica-Bold')
    .fontSize(size)
    .text(party.name, x, MARGIN + 10, { width: COLUMN, height: size * 2.4, ellipsis: true });
  doc
    .font('Helvetica')
    .fontSize(size - 1)
    .text(party.lines.join('\n'), x, doc.y, { width: COLUMN, height: 118 - 4 - doc.y, ellipsis: true });
}

function field(doc: PDFKit.PDFDocument, title: string, value: string, y: number): void {
  doc.font('Helvetica').fontSize(8).text(`${title}: `, MARGIN, y, { continued: true, lineBreak: false });
  doc.font('Helvetica-Bold').text(value, { width: WIDTH, height: 12, ellipsis: true, lineBreak: false });
}

function rule(doc: PDFKit.PDFDocument, y: number): void {
  doc
    .moveTo(MARGIN, y)
    .lineTo(MARGIN + WIDTH, y)
    .lineWidth(1)
    .stroke();
}
