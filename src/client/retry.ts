/**
 * MLflow's retry policy (urllib3's `Retry` as MLflow configures it): which statuses are retried,
 * how long to wait, and what `Retry-After` means.
 */

/** Statuses MLflow retries (`_TRANSIENT_FAILURE_RESPONSE_CODES`). */
export const RETRY_STATUS_CODES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Statuses whose `Retry-After` header is honoured (urllib3's `RETRY_AFTER_STATUS_CODES`). */
export const RETRY_AFTER_STATUS_CODES: ReadonlySet<number> = new Set([413, 429, 503]);

/** The longest wait between two attempts, in seconds (urllib3's `BACKOFF_MAX`). */
export const BACKOFF_MAX_SECONDS = 120;

/**
 * The wait before the next attempt after `consecutiveFailures` failures, in seconds: none after
 * the first, then `factor × 2^(n−1)` plus `random × jitter`, capped at 120 s.
 *
 * @example
 * ```ts
 * [1, 2, 3, 4].map((n) => backoffSeconds(n, 2, 0, Math.random)); // [0, 4, 8, 16]
 * ```
 */
export function backoffSeconds(
  consecutiveFailures: number,
  factor: number,
  jitter: number,
  random: () => number,
): number {
  if (consecutiveFailures <= 1) return 0;
  let value = factor * 2 ** (consecutiveFailures - 1);
  if (jitter !== 0) value += random() * jitter;
  return Math.max(0, Math.min(BACKOFF_MAX_SECONDS, value));
}

/**
 * The wait a `Retry-After` header asks for, in seconds (delta-seconds or an HTTP date), or
 * `undefined` when it is absent or malformed. Past dates mean 0.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+\.\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (!Number.isFinite(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, (date - nowMs) / 1000);
}
