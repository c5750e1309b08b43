/**
 * AS2: opening what partners send and answering it, in process (no HTTP, no database).
 * Measured: a signed + encrypted (AES-256-CBC, RSA PKCS#1 v1.5) X12 856 built by OpenSSL is opened
 * by the gateway (MIME, CMS, implicit-rejection unpadding, decryption, signature check), its MIC
 * computed and a signed MDN built. Baseline, same run: the bare cryptography of the same work
 * through Node's OpenSSL (the RSA key decryption, AES-256-CBC over the same size, one RSA
 * signature check and one RSA signature) without any parsing. The ratio is what CMS and MIME
 * handling cost on top of the cryptography. The two are timed in alternating rounds.
 */
import { constants, createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { certFromPem, selfSignedCertificate } from '../src/formats/as2/certificates.js';
import { micOf, unwrap } from '../src/channels/as2/unwrap.js';
import type { As2KeyRing } from '../src/channels/as2/keys.js';
import { buildMdn } from '../src/formats/as2/mdn.js';
import { entityOfHttp } from '../src/formats/as2/mime.js';
import { buildWithOpenssl, opensslIdentity } from '../test/helpers/as2.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const payload = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/856-004060-SOI.edi'));

/**
 * Calls per second of `a` and of `b`, timed in alternating rounds (after one untimed round each),
 * so that load from other processes on a shared machine falls on both alike: timed one after the
 * other, a busy second reads as a ratio that moves by half from run to run.
 */
function alternating(a: () => void, b: () => void, rounds = 10, secondsPerRound = 0.2): [number, number] {
  const totals = [
    { fn: a, calls: 0, ms: 0 },
    { fn: b, calls: 0, ms: 0 },
  ];
  for (let r = -1; r < rounds; r++)
    for (const t of totals) {
      const started = performance.now();
      const until = started + secondsPerRound * 1000;
      let calls = 0;
      while (performance.now() < until) {
        t.fn();
        calls++;
      }
      if (r < 0) continue;
      t.calls += calls;
      t.ms += performance.now() - started;
    }
  return [(totals[0]!.calls * 1000) / totals[0]!.ms, (totals[1]!.calls * 1000) / totals[1]!.ms];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-as2-'));
  try {
    const kp = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const ours = { key: kp.privateKey, cert: certFromPem(await selfSignedCertificate(kp, 'bench', 1)) };
    writeFileSync(path.join(dir, 'gateway.pem'), ours.cert.x509.toString());
    const partner = await opensslIdentity(dir, 'partner');
    const partnerCert = certFromPem(readFileSync(partner.cert));
    const built = await buildWithOpenssl(dir, {
      protection: 'signed+encrypted',
      digest: 'sha256',
      payload,
      partner,
      gatewayCert: path.join(dir, 'gateway.pem'),
    });
    const top = entityOfHttp((h) => (h === 'content-type' ? built.headers['Content-Type'] : undefined), built.body);
    const ring = { decrypting: () => [ours], active: () => ours } as unknown as As2KeyRing;

    const gateway = () => {
      const u = unwrap(top, [partnerCert], ring, 10_000_000);
      buildMdn({ ourId: 'GW', partnerId: 'P', originalMessageId: '<m@p>', mic: micOf(u, 'sha256'), text: 'ok' }, { pair: ours, digest: 'sha256' });
    };

    // The same cryptography, bare: RSA key decryption, AES over the body's size, a check, a signature.
    const encryptedKey = publicEncrypt({ key: kp.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, randomBytes(32));
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', key, iv);
    const ciphertext = Buffer.concat([c.update(randomBytes(built.body.length - 600)), c.final()]);
    const partnerKey = readFileSync(partner.key);
    const signature = sign('sha256', payload, partnerKey);
    const partnerPub = partnerCert.x509.publicKey;
    const bareWork = () => {
      privateDecrypt({ key: kp.privateKey, padding: constants.RSA_NO_PADDING }, encryptedKey);
      const d = createDecipheriv('aes-256-cbc', key, iv);
      Buffer.concat([d.update(ciphertext), d.final()]);
      verify('sha256', payload, partnerPub, signature);
      sign('sha256', payload, kp.privateKey);
    };
    const [measured, bare] = alternating(gateway, bareWork);
    console.log(
      `AS2 open + MIC + signed MDN (signed+encrypted ${built.body.length} B, RSA-3072 key): ${measured.toFixed(1)} messages/s = ` +
        `${(measured / bare).toFixed(2)}× the bare cryptography (${bare.toFixed(1)}/s)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
