import assert from 'node:assert/strict';

/**
 * A browser without a browser, for the portal's server-rendered pages: keeps the cookies the
 * gateway sets, follows no redirect by itself, posts forms url-encoded or multipart, and reads a
 * page's form fields (the CSRF token, a form's one-time key).
 */
export class PortalClient {
  readonly jar = new Map<string, string>();
  constructor(private readonly base: () => string) {}

  /** A GET, a url-encoded form (`form`) or a multipart form (`multipart`, fields and files in its order). */
  async request(path: string, init: { method?: string; form?: Record<string, string>; multipart?: FormData } = {}) {
    const res = await fetch(`${this.base()}${path}`, {
      method: init.method ?? (init.form || init.multipart ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
      ...(init.multipart ? { body: init.multipart } : {}),
    });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair] = c.split(';') as [string];
      const name = pair.slice(0, pair.indexOf('='));
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(pair.indexOf('=') + 1));
    }
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, setCookies, body, text: body.toString('utf8') };
  }

  /** The value of the hidden field `name` on the page at `path`. */
  async hidden(path: string, name: string): Promise<string> {
    const page = await this.request(path);
    const value = new RegExp(`name="${name}" value="([^"]+)"`).exec(page.text)?.[1];
    assert.ok(value, `no ${name} on ${path}: ${page.text}`);
    return value;
  }

  /** The form token of the page at `path`. */
  formToken(path: string): Promise<string> {
    return this.hidden(path, 'csrf');
  }

  /** The hidden and visible fields of the first form on a page whose action is `action`, as the browser would post them. */
  async formFields(path: string, action: string): Promise<Record<string, string>> {
    const page = await this.request(path);
    assert.equal(page.status, 200, page.text);
    const form = new RegExp(`<form method="post" action="${action}">([\\s\\S]*?)</form>`).exec(page.text)?.[1];
    assert.ok(form, `no form to ${action} on ${path}: ${page.text}`);
    const fields: Record<string, string> = {};
    for (const m of form.matchAll(/<input [^>]*name="([^"]+)" value="([^"]*)"/g)) fields[m[1] as string] = fromHtml(m[2] as string);
    for (const m of form.matchAll(/<select [^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g))
      fields[m[1] as string] = /<option value="([^"]*)" selected>/.exec(m[2] as string)?.[1] ?? '';
    return fields;
  }

  /** Posts the sign-in form with its token; answers the gateway's response, whatever it is. */
  async attemptSignIn(username: string, password: string) {
    const csrf = await this.formToken('/portal/sign-in');
    return this.request('/portal/sign-in', { form: { csrf, username, password } });
  }

  /** Signs in, or fails the test. */
  async signIn(username: string, password: string): Promise<void> {
    const r = await this.attemptSignIn(username, password);
    assert.equal(r.status, 303, r.text);
  }
}

const fromHtml = (s: string) => s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
