import { usableAt, type Credential, type CredentialStore } from './credentials.js';

export interface ExpiringCredential {
  credential: Credential;
  daysLeft: number;
}

/**
 * Every credential, in the store or in a profile, still usable or not yet started, that expires
 * within `days`: what the expiry monitor reports (CLI, admin API, metric).
 */
export async function expiringCredentials(store: CredentialStore, days: number, now = new Date()): Promise<ExpiringCredential[]> {
  const horizon = now.getTime() + days * 86_400_000;
  return (await store.list())
    .filter((c) => c.expiresAt && !c.revokedAt && c.expiresAt.getTime() <= horizon && (usableAt(c, now) || c.notBefore > now))
    .map((c) => ({ credential: c, daysLeft: Math.floor(((c.expiresAt as Date).getTime() - now.getTime()) / 86_400_000) }))
    .sort((a, b) => (a.credential.expiresAt as Date).getTime() - (b.credential.expiresAt as Date).getTime());
}
