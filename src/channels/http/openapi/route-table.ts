import type Router from '@koa/router';
import type Koa from 'koa';

/** One route an app answers: an upper-case method and the path in OpenAPI form (`/v1/messages/{id}`). */
export interface Route {
  method: string;
  path: string;
}

/**
 * The routes of the routers mounted on `app` (router.routes() carries its router), nested routers
 * included, as OpenAPI paths: `:name` becomes `{name}`. Middleware layers (no method) are left out.
 */
export function routeTable(app: Koa): Route[] {
  const routes = new Map<string, Route>();
  for (const mw of app.middleware) {
    const router = (mw as { router?: Router }).router;
    if (!router) continue;
    for (const layer of router.stack) {
      for (const method of layer.methods) {
        if (method === 'HEAD') continue; // answered by GET
        const path = openApiPath(String(layer.path));
        routes.set(`${method} ${path}`, { method, path });
      }
    }
  }
  return [...routes.values()];
}

function openApiPath(koaPath: string): string {
  return koaPath.replace(/:(\w+)/g, '{$1}');
}
