/** `/health` and `/version` (open, for probes) and `/metrics` (Prometheus text; signed-in users). */
import { VERSION } from "../../version.js";
import type { SecretStore } from "../../store/index.js";
import type { Router } from "../http/routing.js";
import type { Metrics } from "../metrics.js";

export function registerSystemRoutes(router: Router, store: SecretStore, metrics: Metrics): void {
  router.system({
    method: "GET",
    url: "/health",
    public: true,
    async handler(_request, reply) {
      return reply.type("text/plain; charset=utf-8").send("OK");
    },
  });

  router.system({
    method: "GET",
    url: "/version",
    public: true,
    async handler(_request, reply) {
      return reply.type("text/plain; charset=utf-8").send(VERSION);
    },
  });

  router.system({
    method: "GET",
    url: "/metrics",
    public: false,
    async handler(_request, reply) {
      const text = metrics.render(await store.countByKekVersion());
      return reply.type("text/plain; version=0.0.4; charset=utf-8").send(text);
    },
  });
}
