/** Small timing helpers shared by the benchmarks. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Operations per second of a synchronous function: a warm-up, then five timed rounds of
 * `seconds / 5` each; the median round is reported.
 */
export function rate(seconds: number, fn: () => unknown): number {
  const round = (ms: number): number => {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let i = 0; i < 500; i++) fn();
      n += 500;
      elapsed = performance.now() - t0;
    }
    return (n / elapsed) * 1000;
  };
  round(Math.min(300, seconds * 200));
  const rounds = Array.from({ length: 5 }, () => round((seconds * 1000) / 5));
  return Math.round(median(rounds));
}
