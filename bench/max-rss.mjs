/**
 * Preloaded into a benchmarked command (`node --import ./bench/max-rss.mjs …`): when the process
 * exits, writes its peak resident set size in MB to the file named by BENCH_MAX_RSS_FILE, so the
 * figure is the command's own (the benchmark runs in another process).
 */
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_MAX_RSS_FILE;
if (file) {
  process.on("exit", () => {
    writeFileSync(file, String(Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10));
  });
}
