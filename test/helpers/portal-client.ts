import assert from 'node:assert/strict';

/** A browser without a browser: keeps the gateway's cookies, follows no redirect by itself. */
export class PortalClient {
  readonly jar = new Map<string, string>();
  constructor(private readonly base: () => string) {}

  async request(path: string, init: { form?: Record<string, string> } = {}) {
    const res = await fetch(`${this.base()}${path}`, {
      method: init.form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';') as [string];
      const name = pair.slice(0, pair.indexOf('='));
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(pair.indexOf('=') + 1));
    }
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, text: await res.text() };
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

  async signIn(username: string, password: string): Promise<void> {
    const page = await this.request('/portal/sign-in');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
    const r = await this.request('/portal/sign-in', { form: { csrf, username, password } });
    assert.equal(r.status, 303, r.text);
  }
}

const fromHtml = (s: string) => s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
