/**
 * The routes the OpenAPI document leaves out, and why: pages for people in a browser, which answer
 * HTML, a redirect or a static asset, never JSON. The portal's pages (`/portal/…`) submit through
 * the same pipeline and API calls as scripts do (decision 0023); their JSON calls live under
 * `/portal/api/` and are described. The coverage test checks both sides of this rule.
 */
export function isBrowserPage(path: string): boolean {
  if (path === '/') return true; // the redirect to the portal
  if (path === '/docs/api' || path.startsWith('/docs/api/')) return true; // the reference page and its assets
  return path.startsWith('/portal/') && !path.startsWith('/portal/api/');
}
