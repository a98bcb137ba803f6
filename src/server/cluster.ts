/**
 * `--workers N`: N processes (node:cluster) sharing the port. The primary only supervises — all
 * state lives in the database — forwarding SIGTERM/SIGINT to the workers, replacing a worker that
 * dies while serving, and giving up if one fails before it ever listened (a bad port, a bad KEK).
 */
import cluster, { type Worker } from "node:cluster";

interface WorkerPoolOptions {
  workers: number;
  /** How long a worker may take to stop after SIGTERM before it is killed. */
  shutdownTimeoutMs: number;
  log: (message: string) => void;
}

/** True in a process started by `runWorkerPool`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: drops the channel to the primary, which otherwise keeps the process alive. */
export function leaveCluster(): void {
  if (cluster.isWorker && cluster.worker?.isConnected()) cluster.worker.disconnect();
}

/**
 * Runs the pool until a stop signal (or a start-up failure); resolves with the exit code.
 * Workers re-run this program with the same arguments and find `isClusterWorker()` true.
 */
export function runWorkerPool(options: WorkerPoolOptions): Promise<number> {
  return new Promise((resolve) => {
    const listening = new Set<Worker>();
    let stopping = false;
    let exitCode = 0;
    let killTimer: NodeJS.Timeout | undefined;

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      options.log(
        `received ${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers`,
      );
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
      killTimer = setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      }, options.shutdownTimeoutMs + 2_000);
      killTimer.unref();
    };
    const onSignal = (signal: NodeJS.Signals) => stop(signal);
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    cluster.on("listening", (worker) => listening.add(worker));
    cluster.on("exit", (worker, code, signal) => {
      const wasListening = listening.delete(worker);
      if (!stopping) {
        if (!wasListening) {
          options.log(
            `worker ${worker.process.pid} failed to start (exit ${code ?? signal}); stopping`,
          );
          exitCode = 1;
          stop("SIGTERM");
        } else {
          options.log(`worker ${worker.process.pid} died (${code ?? signal}); starting a new one`);
          cluster.fork();
        }
      }
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        if (killTimer) clearTimeout(killTimer);
        cluster.removeAllListeners("listening");
        cluster.removeAllListeners("exit");
        resolve(exitCode);
      }
    });
    for (let i = 0; i < options.workers; i++) cluster.fork();
  });
}
