/**
 * A real forward proxy for the proxy tests: Debian's tinyproxy, started in a temporary directory
 * with its own configuration on a free local port, its log readable by the test. Tests skip with
 * `TINYPROXY_MISSING` when the binary is not installed (`.ci/run` installs it).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BINARY = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"].find((p) => existsSync(p));

const hasTinyproxy =
  BINARY !== undefined && spawnSync(BINARY, ["-v"], { encoding: "utf8" }).status === 0;

/** The skip reason when tinyproxy is absent (`false` when it is there). */
export const TINYPROXY_MISSING: string | false = hasTinyproxy
  ? false
  : "tinyproxy is not installed (apt-get install -y tinyproxy; .ci/run does it)";

interface TinyproxyOptions {
  /** The address to listen on (default 127.0.0.1). */
  listen?: string;
  /** Require these credentials (tinyproxy's `BasicAuth`). */
  basicAuth?: { username: string; password: string };
  /** Ports `CONNECT` may reach (tinyproxy allows every port when none is listed). */
  connectPorts?: number[];
}

export interface Tinyproxy {
  /** `http://<listen>:<port>` */
  url: string;
  port: number;
  host: string;
  /** The proxy's log so far. */
  log(): string;
  /** The request lines it logged (`CONNECT 127.0.0.1:443 HTTP/1.1`, `GET http://… HTTP/1.1`). */
  requests(): string[];
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the kernel's choice, released at once). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts tinyproxy; retries on another port if the one picked was taken meanwhile. Call it inside a
 * test and stop it in that test's `after` (a file-level `after` runs only once the event loop is
 * empty, which a running proxy prevents).
 */
export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  if (BINARY === undefined) throw new Error("tinyproxy is not installed");
  const host = options.listen ?? "127.0.0.1";
  for (let attempt = 0; ; attempt += 1) {
    const dir = mkdtempSync(join(tmpdir(), "tinyproxy-"));
    const port = await freePort(host);
    const logFile = join(dir, "tinyproxy.log");
    const lines = [
      `Listen ${host}`,
      `Port ${port}`,
      "Timeout 30",
      `LogFile "${logFile}"`,
      "LogLevel Connect",
      "MaxClients 100",
      `PidFile "${join(dir, "tinyproxy.pid")}"`,
      ...(options.basicAuth
        ? [`BasicAuth ${options.basicAuth.username} ${options.basicAuth.password}`]
        : []),
      ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
    ];
    writeFileSync(join(dir, "tinyproxy.conf"), `${lines.join("\n")}\n`);
    const child = spawn(BINARY, ["-d", "-c", join(dir, "tinyproxy.conf")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      // LogLevel Connect hides the start-up line, so wait for the port instead.
      await waitForPort(host, port, child, 10_000);
    } catch (err) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      if (attempt < 3) continue;
      throw new Error(`${(err as Error).message}: ${stderr}`);
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const log = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
    return {
      url: `http://${host}:${port}`,
      port,
      host,
      log,
      requests: () =>
        [...log().matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((m) => m[1]!),
      async stop() {
        if (child.exitCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("tinyproxy did not start listening");
}
