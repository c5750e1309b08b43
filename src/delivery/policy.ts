import type { DocumentType, Route } from '../types.js';

/**
 * How one target is retried. A delivery that fails with a retryable error is tried again after
 * `min(backoffMs · 2^(attempt-1), backoffMaxMs)` ± 25 % jitter, until it is `maxAgeMs` old (counted
 * from when it was queued) or, when the route sets `maxAttempts`, that many attempts were made.
 * After `breakerFailures` consecutive failures the target is paused for `breakerCoolDownMs`, then
 * one delivery probes it.
 */
export interface RetryPolicy {
  maxAgeMs: number;
  /** Attempts before dead letter, for deliveries whose row sets none (a route's `maxAttempts` is kept on the row). */
  maxAttempts?: number;
  backoffMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerCoolDownMs: number;
}

/** The policy of the route that sent `type` to `targetId`: its `retry`/`breaker` settings over the defaults. */
export function routePolicy(defaults: RetryPolicy, routes: readonly Route[] | undefined, targetId: string, type: string): RetryPolicy {
  const route = routes?.find((r) => r.target.id === targetId && r.types.includes(type as DocumentType)) ?? routes?.find((r) => r.target.id === targetId);
  const retry = route?.retry ?? {};
  const breaker = route?.breaker ?? {};
  return {
    maxAgeMs: retry.maxAgeSeconds !== undefined ? retry.maxAgeSeconds * 1000 : defaults.maxAgeMs,
    backoffMs: retry.backoffMs ?? defaults.backoffMs,
    backoffMaxMs: retry.backoffMaxMs ?? Math.max(defaults.backoffMaxMs, retry.backoffMs ?? 0),
    breakerFailures: breaker.failures ?? defaults.breakerFailures,
    breakerCoolDownMs: breaker.coolDownMs ?? defaults.breakerCoolDownMs,
  };
}
