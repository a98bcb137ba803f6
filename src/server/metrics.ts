/**
 * Prometheus text exposition (no client library needed for a handful of series): requests by
 * route, method and status; a latency histogram per route; authentication failures by reason;
 * and, read from the database at scrape time, secrets per `kek_version`. Counters are per
 * process: with `--workers N`, each scrape sees the worker that answered it.
 */
import type { AuthFailureReason } from "./auth/authenticator.js";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface Metrics {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  authFailure(reason: AuthFailureReason): void;
  /** The exposition text, with gauges for the rows per KEK version. */
  render(secretsByKekVersion: readonly { kekVersion: number; count: number }[]): string;
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A fresh registry. */
export function createMetrics(): Metrics {
  const requests = new Map<string, number>();
  const latency = new Map<string, Histogram>();
  const authFailures = new Map<string, number>();

  return {
    observeRequest(method, route, status, seconds) {
      const key = `method="${label(method)}",route="${label(route)}",status="${status}"`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const routeKey = `route="${label(route)}"`;
      let histogram = latency.get(routeKey);
      if (histogram === undefined) {
        histogram = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
        latency.set(routeKey, histogram);
      }
      for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) histogram.counts[i]!++;
      histogram.sum += seconds;
      histogram.count++;
    },

    authFailure(reason) {
      authFailures.set(reason, (authFailures.get(reason) ?? 0) + 1);
    },

    render(secretsByKekVersion) {
      const lines: string[] = [];
      lines.push(
        "# HELP mlflow_secrets_http_requests_total HTTP requests by route, method and status.",
        "# TYPE mlflow_secrets_http_requests_total counter",
      );
      for (const [key, n] of requests)
        lines.push(`mlflow_secrets_http_requests_total{${key}} ${n}`);
      lines.push(
        "# HELP mlflow_secrets_http_request_duration_seconds Time to answer a request.",
        "# TYPE mlflow_secrets_http_request_duration_seconds histogram",
      );
      for (const [key, h] of latency) {
        BUCKETS.forEach((bound, i) =>
          lines.push(
            `mlflow_secrets_http_request_duration_seconds_bucket{${key},le="${bound}"} ${h.counts[i]}`,
          ),
        );
        lines.push(
          `mlflow_secrets_http_request_duration_seconds_bucket{${key},le="+Inf"} ${h.count}`,
          `mlflow_secrets_http_request_duration_seconds_sum{${key}} ${h.sum}`,
          `mlflow_secrets_http_request_duration_seconds_count{${key}} ${h.count}`,
        );
      }
      lines.push(
        "# HELP mlflow_secrets_auth_failures_total Refused authentication attempts by reason.",
        "# TYPE mlflow_secrets_auth_failures_total counter",
      );
      for (const [reason, n] of authFailures) {
        lines.push(`mlflow_secrets_auth_failures_total{reason="${reason}"} ${n}`);
      }
      lines.push(
        "# HELP mlflow_secrets_secrets Secrets stored (all workspaces).",
        "# TYPE mlflow_secrets_secrets gauge",
        `mlflow_secrets_secrets ${secretsByKekVersion.reduce((sum, v) => sum + v.count, 0)}`,
        "# HELP mlflow_secrets_secrets_by_kek_version Secrets per KEK version (rotation progress).",
        "# TYPE mlflow_secrets_secrets_by_kek_version gauge",
      );
      for (const { kekVersion, count } of secretsByKekVersion) {
        lines.push(`mlflow_secrets_secrets_by_kek_version{kek_version="${kekVersion}"} ${count}`);
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
