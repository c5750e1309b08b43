import assert from 'node:assert/strict';

/**
 * A browser without a browser, for the portal's server-rendered forms: keeps the cookies the
 * gateway sets, follows no redirect by itself, and reads hidden form fields (the CSRF token).
 */
export class FormClient {
  readonly jar = new Map<string, string>();
  constructor(private readonly base: () => string) {}

  async request(path: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const res = await fetch(`${this.base()}${path}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair] = c.split(';') as [string];
      const name = pair.slice(0, pair.indexOf('='));
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(pair.indexOf('=') + 1));
    }
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, setCookies, text: await res.text() };
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

  /** Posts the sign-in form with its token; answers the gateway's response (303 when signed in). */
  async signIn(username: string, password: string) {
    const csrf = await this.formToken('/portal/sign-in');
    return this.request('/portal/sign-in', { form: { csrf, username, password } });
  }
}
