import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestGateway } from './gateway.js';

/**
 * Gives the ERP route of the test partners (`erp-http`, see testPartners) other delivery settings:
 * `settings` are YAML lines (indented as route properties) that replace its `maxAttempts: 4`, and
 * `timeoutMs` its 2 s request timeout. The gateway reloads before this returns.
 */
export async function setErpRoute(t: TestGateway, settings: string[], timeoutMs = 2000, partners = ['northwind', 'acme-supply']): Promise<void> {
  for (const id of partners) {
    const file = path.join(t.partnersDir, `${id}.yaml`);
    const text = (await readFile(file, 'utf8'))
      .replace('    maxAttempts: 4\n', settings.map((l) => `    ${l}\n`).join(''))
      .replace('timeoutMs: 2000 }', `timeoutMs: ${timeoutMs} }`);
    await writeFile(file, text);
  }
  await t.gw.reload();
}
