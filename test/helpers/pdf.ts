import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { prepareZXingModule, type ReadResult, readBarcodes } from 'zxing-wasm/reader';

/** Each page's text, as a PDF reader extracts it (pdf.js, the reader in Firefox). */
export async function pdfPages(pdf: Buffer): Promise<string[]> {
  const doc = await getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, verbosity: 0 }).promise;
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

let decoderReady: Promise<unknown> | undefined;

/**
 * The barcodes a scanner library (ZXing, compiled to WebAssembly) reads in a PNG. Its WebAssembly is
 * loaded from node_modules: by default it would be fetched from a CDN.
 */
export async function decodeBarcodes(png: Buffer): Promise<ReadResult[]> {
  decoderReady ??= (() => {
    const wasm = readFileSync(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'));
    return prepareZXingModule({ overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) }, fireImmediately: true });
  })();
  await decoderReady;
  return readBarcodes(new Uint8Array(png), { formats: ['Code128'], tryHarder: true });
}
