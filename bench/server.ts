/**
 * `npm run bench:server`: the REST server under load from a separate process, next to the
 * practical ceiling — a trivial Node `http` server answering `{"ok":true}` — measured in the same
 * run at the same concurrency.
 *
 * The server is the real, built `mlflow-secrets server` command (SQLite, JSON logs at info level to
 * /dev/null) in a child process; the ceiling runs in another; autocannon runs here. Basic auth
 * on every request. Rounds are interleaved (ceiling, value, list, create) and the median round
 * is reported, since the machine is shared.
 *
 *   npm run bench:server [-- --seconds 5] [--rounds 3] [--connections 32]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { KekManager, Keyring, openSecretStore } from "../src/index.js";
import { median } from "./harness.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PASSPHRASE = "bench server passphrase";
const ADMIN_PASSWORD = "bench-admin-password-1";
const AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`;
const LIST_SIZE = 1000;
const VALUE_SECRETS = 100;

interface Figures {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

/** Starts a child process and resolves with the URL it prints. */
function startProcess(args: string[], env: Record<string, string>, pattern: RegExp) {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  return new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const match = pattern.exec(stderr);
      if (match) resolve({ child, url: match[1]! });
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function load(
  url: string,
  request: Omit<autocannon.Request, "setupRequest"> & {
    setupRequest?: (request: autocannon.Request) => autocannon.Request;
  },
  duration: number,
): Promise<Figures> {
  const result = await autocannon({
    url,
    connections,
    duration,
    requests: [request],
  });
  return {
    req_per_s: Math.round(result.requests.total / result.duration),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

// The server runs the built package (`dist/`, rebuilt first), as `npm start` does.
const build = spawnSync(
  process.execPath,
  [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
  { cwd: ROOT, encoding: "utf8" },
);
if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);

const dir = mkdtempSync(join(tmpdir(), "mlflow-secrets-bench-server-"));
const uri = `sqlite:///${join(dir, "bench.db")}`;
const children: ChildProcess[] = [];
try {
  // The data: 1,000 secrets to list, the first 100 also read for `value`.
  const store = await openSecretStore({
    uri,
    keyring: Keyring.of(await KekManager.create({ passphrase: PASSPHRASE, kekVersion: 1 })),
  });
  const ids: string[] = [];
  await store.transaction(async (tx) => {
    for (let i = 0; i < LIST_SIZE; i++) {
      const info = await tx.createSecret({
        secretName: `bench-${String(i).padStart(4, "0")}`,
        secretValue: { api_key: `sk-proj-bench-${i}-0123456789abcdef` },
        provider: "openai",
        authConfig: { api_base: "https://api.openai.com/v1" },
      });
      if (i < VALUE_SECRETS) ids.push(info.secretId);
    }
  });
  await store.close();

  const ceiling = await startProcess(
    [
      "-e",
      `const http = require("node:http");
       const body = JSON.stringify({ ok: true });
       const server = http.createServer((req, res) => {
         req.resume();
         res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
         res.end(body);
       });
       server.listen(0, "127.0.0.1", () => process.stderr.write("listening on http://127.0.0.1:" + server.address().port + "\\n"));
       process.on("SIGTERM", () => server.close(() => process.exit(0)));`,
    ],
    {},
    /listening on (http:\/\/[\d.]+:\d+)/,
  );
  children.push(ceiling.child);
  const server = await startProcess(
    ["dist/cli/main.js", "server", "--port", "0", "--log-level", "info"],
    {
      MLFLOW_BACKEND_STORE_URI: uri,
      MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE,
      MLFLOW_SECRETS_ADMIN_PASSWORD: ADMIN_PASSWORD,
    },
    /listening on (http:\/\/[\d.]+:\d+)/,
  );
  children.push(server.child);

  const json = { authorization: AUTH, "content-type": "application/json" };
  let valueIndex = 0;
  let created = 0;
  const targets = {
    ceiling: (d: number) => load(ceiling.url, { method: "GET", path: "/" }, d),
    value: (d: number) =>
      load(
        server.url,
        {
          method: "POST",
          path: "/api/3.0/mlflow/gateway/secrets/value",
          headers: json,
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ secret_id: ids[valueIndex++ % ids.length] }),
          }),
        },
        d,
      ),
    list: (d: number) =>
      load(
        server.url,
        {
          method: "GET",
          path: "/api/3.0/mlflow/gateway/secrets/list",
          headers: { authorization: AUTH },
        },
        d,
      ),
    // Creates go to their own workspace, so `list` keeps listing exactly 1,000.
    create: (d: number) =>
      load(
        server.url,
        {
          method: "POST",
          path: "/api/3.0/mlflow/gateway/secrets/create",
          headers: { ...json, "x-mlflow-workspace": "bench-create" },
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({
              secret_name: `created-${created++}`,
              secret_value: { api_key: `sk-created-${created}-0123456789abcdef` },
              provider: "openai",
            }),
          }),
        },
        d,
      ),
  };
  type Target = keyof typeof targets;

  // Warm-up: JIT, the Basic-auth cache (one scrypt), SQLite's page cache.
  for (const name of Object.keys(targets) as Target[]) await targets[name](1);
  const samples: Record<Target, Figures[]> = { ceiling: [], value: [], list: [], create: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of ["ceiling", "value", "list", "create"] as Target[]) {
      samples[name].push(await targets[name](seconds));
    }
  }
  const pick = (list: Figures[]): Figures => {
    const middle = median(list.map((f) => f.req_per_s));
    return list.find((f) => f.req_per_s === middle) ?? list[0]!;
  };
  const result = Object.fromEntries(
    (Object.keys(samples) as Target[]).map((name) => [name, pick(samples[name])]),
  ) as Record<Target, Figures>;
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const report = {
    machine: { node: process.version, cpus: availableParallelism() },
    setup: {
      connections,
      seconds_per_round: seconds,
      rounds,
      backend: "SQLite (file, WAL, synchronous=FULL)",
      auth: "HTTP Basic, every request",
      list_size: LIST_SIZE,
      logs: "JSON, info level, to /dev/null",
    },
    ceiling: result.ceiling,
    value: {
      ...result.value,
      vs_ceiling: ratio(result.value.req_per_s, result.ceiling.req_per_s),
      p99_vs_ceiling_p99: ratio(result.value.p99_ms, result.ceiling.p99_ms),
    },
    create: result.create,
    list_1000: result.list,
    targets: {
      value_vs_ceiling_min: 0.3,
      value_p99_vs_ceiling_p99_max: 4,
      create_req_per_s_min: 1000,
      list_1000_req_per_s_min: 300,
    },
    all_rounds: samples,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await Promise.all(children.map(stop));
  rmSync(dir, { recursive: true, force: true });
}
