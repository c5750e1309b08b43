import { type Cert, certFromPem } from '../../formats/as2/certificates.js';

/**
 * Partner certificates read once: the door looks up the certificates in force for every message
 * (profile and store, rotated ones included), and each is parsed the first time it is seen.
 *
 * Keyed by the certificate's own PEM text, not by a name or a reference a caller supplies, so a
 * certificate is never answered with another one's parsed form, and a rotated-in certificate,
 * being other text, is parsed and used at once. Bounded: past `max` certificates the one used
 * longest ago is dropped (parsed again if it comes back).
 */
export class PartnerCertificates {
  private readonly byPem = new Map<string, Cert>();

  constructor(private readonly max = 1000) {}

  /** The parsed certificate for `pem`. */
  of(pem: string): Cert {
    const known = this.byPem.get(pem);
    if (known) {
      // Map keeps insertion order: moving a hit to the end keeps the oldest-used first.
      this.byPem.delete(pem);
      this.byPem.set(pem, known);
      return known;
    }
    const cert = certFromPem(pem);
    this.byPem.set(pem, cert);
    if (this.byPem.size > this.max) this.byPem.delete(this.byPem.keys().next().value as string);
    return cert;
  }

  get size(): number {
    return this.byPem.size;
  }
}
