import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { listAs2Keys } from '../../src/channels/as2/keys.js';
import { ERROR_CODES } from '../../src/errors.js';
import { allowAs2, buildWithOpenssl, opensslIdentity, type BuiltAs2, type Protection } from '../helpers/as2.js';
import { mutate, mutations } from '../helpers/as2-mutate.js';
import { gatewaySuite, waitFor } from '../helpers/gateway.js';
import { writeFile } from 'node:fs/promises';

/**
 * Property-based, through the door: real messages built by OpenSSL, mutated at random (body and
 * Content-Type), posted to POST /as2. The gateway never answers a 5xx other than 503; every answer
 * is an MDN (positive when the mutation left the message valid, else an error disposition) or an
 * error with a stable code.
 */
const OUR_ID = 'GATEWAY AS2';
const DISPOSITIONS = new RegExp(
  [
    '^automatic-action/MDN-sent-automatically; processed',
    '(/error: (insufficient-message-security|decryption-failed|authentication-failed|integrity-check-failed|unexpected-processing-error))?$',
  ].join(''),
);

describe('AS2 door under mutated messages (fast-check, real server)', function () {
  this.timeout(300_000);
  const suite = gatewaySuite({ env: { AS2_ID: OUR_ID } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-as2-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const built: { protection: Protection; message: BuiltAs2 }[] = [];

  before(async () => {
    const acme = await opensslIdentity(dir, 'acme-as2');
    await allowAs2(suite.t.gw, suite.t.partnersDir, 'acme-supply', 'id: ACME-AS2\ncertificates: [certs/acme-as2.pem]\nrequireSigned: false', {
      'acme-as2.pem': acme.cert,
    });
    const keysDir = path.join(suite.t.dataDir, 'as2', 'keys');
    const active = await waitFor('our AS2 key pair', async () => listAs2Keys(keysDir, suite.t.gw.security.keys).find((k) => k.state === 'active'), Boolean);
    const gatewayCert = path.join(dir, 'gateway.crt');
    await writeFile(gatewayCert, active!.certPem);
    const payload = Buffer.from(
      'ISA*00*          *00*          *12*4405197800     *ZZ*DISTRIBUTOR    *261123*1200*U*00401*000000777*0*P*>~' +
        'GS*SH*4405197800*DISTRIBUTOR*20261123*1200*777*X*004010~ST*856*0001~BSN*00*FUZZ*20261123*1200~SE*3*0001~GE*1*777~IEA*1*000000777~',
    );
    for (const protection of ['plain', 'signed', 'signed+encrypted', 'compressed+signed+encrypted'] as const)
      built.push({ protection, message: await buildWithOpenssl(dir, { protection, digest: 'sha256', payload, partner: acme, gatewayCert }) });
  });

  it('answers every mutated message with an MDN or a stable code, never a 5xx but 503', async () => {
    let seq = 0;
    const seen = { mdnProcessed: 0, mdnError: 0, refused: 0, unavailable: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat(), mutations, fc.boolean(), async (pick, ms, inHeader) => {
        const { protection, message } = built[pick % built.length]!;
        const contentType = message.headers['Content-Type'] ?? 'application/edi-x12';
        const headers = {
          'AS2-Version': '1.2',
          'AS2-From': 'ACME-AS2',
          'AS2-To': `"${OUR_ID}"`,
          'Message-ID': `<fuzz-${process.pid}-${++seq}@acme.example>`,
          'Disposition-Notification-To': 'as2@acme.example',
          'Disposition-Notification-Options': 'signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256',
          'Content-Type': inHeader
            ? mutate(Buffer.from(contentType, 'latin1'), ms)
                .toString('latin1')
                .replace(/[\x00-\x1f\x7f]/g, ' ')
            : contentType,
        };
        const res = await fetch(`${suite.url}/as2`, { method: 'POST', headers, body: inHeader ? message.body : mutate(message.body, ms) });
        const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
        const what = `${protection}, ${JSON.stringify(ms)}: HTTP ${res.status} ${body.slice(0, 300)}`;
        if (res.status === 503) return void seen.unavailable++;
        assert.ok(res.status < 500, what);
        if (res.status === 200) {
          const disposition = /^Disposition:\s*(.+?)\r?$/m.exec(body)?.[1];
          assert.ok(disposition && DISPOSITIONS.test(disposition), what);
          if (/error/.test(disposition)) seen.mdnError++;
          else seen.mdnProcessed++;
          return;
        }
        const code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        assert.ok(code && code in ERROR_CODES, what);
        seen.refused++;
      }),
      // The first example once answered 500: one byte changed in the DER structure of an encrypted message.
      { numRuns: 100, examples: [[2, [{ kind: 'set', at: 29, byte: 202, length: 1, token: '\r\n' }], false]] },
    );
    assert.ok(seen.mdnError > 0, `some mutations are refused in the MDN: ${JSON.stringify(seen)}`);
  });
});
