import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { Context } from 'koa';
import { openApiDocument } from '../openapi/document.js';

const require = createRequire(import.meta.url);
/** Swagger UI's prebuilt files, served from the installed package: the page loads nothing from elsewhere. */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** The product's version, from its package.json (found upwards: from src/ under tsx, or dist/src/). */
const VERSION = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
})();

/** The reference page's own script: Swagger UI on /openapi.json (a file, so the page needs no inline script). */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true, tryItOutEnabled: false });\n`;

const ASSETS: Record<string, { type: string; read: () => Promise<Buffer> }> = {
  'swagger-ui.css': { type: 'text/css', read: () => readFile(path.join(SWAGGER_UI_DIR, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript', read: () => readFile(path.join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js')) },
  'init.js': { type: 'text/javascript', read: async () => Buffer.from(INIT_SCRIPT) },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Partner gateway API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/api/assets/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="/docs/api/assets/swagger-ui-bundle.js"></script>
<script src="/docs/api/assets/init.js"></script>
</body>
</html>
`;

/** Scripts from this origin only; Swagger UI sets inline styles and draws icons from data: URLs; its calls go to this origin. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The API's description (decision 0039): the OpenAPI 3.1 document at /openapi.json, open to anyone
 * as the OAuth metadata is, and a readable reference page at /docs/api drawn by Swagger UI.
 */
export function apiReferenceRoutes(): Router {
  const router = new Router();
  const assets = new Map<string, { body: Buffer; etag: string }>();

  router.get('/openapi.json', (ctx) => {
    ctx.set('cache-control', 'no-cache');
    ctx.body = openApiDocument(VERSION);
  });
  router.get('/docs/api', (ctx) => {
    ctx.set('content-security-policy', PAGE_CSP);
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('cache-control', 'no-cache');
    ctx.type = 'html';
    ctx.body = PAGE;
  });
  router.get('/docs/api/assets/:file', async (ctx, next) => {
    const asset = ASSETS[ctx.params.file as string];
    if (!asset) return next();
    let loaded = assets.get(ctx.params.file as string);
    if (!loaded) {
      const body = await asset.read();
      loaded = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      assets.set(ctx.params.file as string, loaded);
    }
    serveAsset(ctx, asset.type, loaded);
  });
  return router;
}

function serveAsset(ctx: Context, type: string, asset: { body: Buffer; etag: string }): void {
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('cache-control', 'public, max-age=3600');
  ctx.set('etag', asset.etag);
  if (ctx.get('if-none-match') === asset.etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = type;
  ctx.body = asset.body;
}
