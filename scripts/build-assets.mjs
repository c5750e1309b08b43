/**
 * Bundles the portal's browser code (src/channels/http/assets/) into dist/assets/, run by `npm run build` (and so by
 * `npm install` and `npm start`): the gateway serves it itself, nothing comes from a CDN (decision 0035).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ASSETS_OUT = fileURLToPath(new URL('../dist/assets/', import.meta.url));

export async function buildAssets() {
  await build({
    entryPoints: [fileURLToPath(new URL('../src/channels/http/assets/workbench.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    outfile: `${ASSETS_OUT}workbench.js`,
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAssets();
