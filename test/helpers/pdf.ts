import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { prepareZXingModule, type ReadResult, readBarcodes } from 'zxing-wasm/reader';

const require = createRequire(import.meta.url);
/** pdf.js draws the standard PDF fonts (Helvetica …) from these files; in Node it must be told where they are. */
const STANDARD_FONTS = `${path.dirname(require.resolve('pdfjs-dist/package.json'))}/standard_fonts/`;

const open = (pdf: Buffer) => getDocument({ data: new Uint8Array(pdf), standardFontDataUrl: STANDARD_FONTS, verbosity: 0 }).promise;

/** Each page's text, as a PDF reader extracts it (pdf.js, the reader in Firefox). */
export async function pdfPages(pdf: Buffer): Promise<string[]> {
  const doc = await open(pdf);
  try {
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      pages.push(content.items.map((i) => ('str' in i ? i.str : '')).join(' '));
    }
    return pages;
  } finally {
    await doc.destroy();
  }
}

/** One page drawn as a PNG by pdf.js, as a screen or a printer would show it (`scale` 2: 144 dpi). */
export async function renderPdfPage(pdf: Buffer, n: number, scale = 2): Promise<Buffer> {
  const doc = await open(pdf);
  try {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale });
    const canvas = createCanvas(viewport.width, viewport.height);
    // pdf.js types its canvas as the DOM's; @napi-rs/canvas is the one it uses in Node.
    await page.render({ canvas: canvas as unknown as Parameters<typeof page.render>[0]['canvas'], viewport }).promise;
    return canvas.toBuffer('image/png');
  } finally {
    await doc.destroy();
  }
}

let decoderReady: Promise<unknown> | undefined;

/**
 * The barcodes a scanner library (ZXing, compiled to WebAssembly) reads in a PNG. Its WebAssembly is
 * loaded from node_modules: by default it would be fetched from a CDN.
 */
export async function decodeBarcodes(png: Buffer): Promise<ReadResult[]> {
  decoderReady ??= (() => {
    const wasm = readFileSync(require.resolve('zxing-wasm/reader/zxing_reader.wasm'));
    return prepareZXingModule({ overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) }, fireImmediately: true });
  })();
  await decoderReady;
  return readBarcodes(new Uint8Array(png), { formats: ['Code128'], tryHarder: true });
}
