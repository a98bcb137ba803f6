/**
 * MLflow's retry policy (urllib3's `Retry` as MLflow configures it): which statuses are retried,
 * how long to wait, what `Retry-After` means, and which settings are valid.
 */
import { invalidParameter } from "../errors.js";

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

function fromSource(source: string | undefined): string {
  return source ? ` (set by ${source})` : "";
}

/** MLflow's rule: 0 ≤ maxRetries < limit (10 unless `_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT`). */
export function validateMaxRetries(value: number, limit: number, source?: string): number {
  if (limit < 0) {
    throw invalidParameter(
      `The current maximum retry limit is invalid (${limit}). Cannot be negative.`,
    );
  }
  if (!Number.isInteger(value)) {
    throw invalidParameter(
      `The max_retries value must be an integer. Got ${value}${fromSource(source)}`,
    );
  }
  if (value >= limit) {
    throw invalidParameter(
      `The configured max_retries value (${value}) is in excess of the maximum allowable retries (${limit})${fromSource(source)}`,
    );
  }
  if (value < 0) {
    throw invalidParameter(
      `The max_retries value must be either 0 a positive integer. Got ${value}${fromSource(source)}`,
    );
  }
  return value;
}

/** MLflow's rule: 0 ≤ backoffFactor < limit (120 unless `_MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT`). */
export function validateBackoffFactor(value: number, limit: number, source?: string): number {
  if (limit < 0) {
    throw invalidParameter(
      `The current maximum backoff factor limit is invalid (${limit}). Cannot be negative.`,
    );
  }
  if (!Number.isFinite(value)) {
    throw invalidParameter(
      `The backoff_factor value must be a number. Got ${value}${fromSource(source)}`,
    );
  }
  if (value >= limit) {
    throw invalidParameter(
      `The configured backoff_factor value (${value}) is in excess of the maximum allowable backoff_factor limit (${limit})${fromSource(source)}`,
    );
  }
  if (value < 0) {
    throw invalidParameter(
      `The backoff_factor value must be either 0 a positive integer. Got ${value}${fromSource(source)}`,
    );
  }
  return value;
}

/** The jitter is a non-negative number of seconds. */
export function validateBackoffJitter(value: number, source?: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw invalidParameter(
      `The backoff_jitter value must be 0 or a positive number. Got ${value}${fromSource(source)}`,
    );
  }
  return value;
}

/** The timeout is a positive number of seconds. */
export function validateTimeoutSeconds(value: number, source?: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw invalidParameter(
      `The request timeout must be a positive number of seconds. Got ${value}${fromSource(source)}`,
    );
  }
  return value;
}
