import { isDraining } from "~/server/lifecycle";
import { checkHealth } from "~/server/services/health";
import { scrapeMetrics } from "~/server/services/metrics";
import { json, type RawHandler } from "../raw";
import type { RawRoute } from "../router";

// Probes and metrics (docs/API.md, "Raw HTTP routes"):
// - GET /api/health: readiness. 200 when this instance should get traffic; 503 naming what is down,
//   or `"draining"` once SIGTERM arrived (src/server/main.ts), so balancers stop sending work.
// - GET /api/health/live: liveness. 200 while the process serves requests at all, draining or not;
//   it talks to no dependency, so an outage elsewhere never gets a healthy process restarted.
// - GET /api/metrics: Prometheus text (services/metrics.ts; bearer token when METRICS_TOKEN is set).

const readiness: RawHandler = async () => {
  if (isDraining()) {
    return json(503, { server: "draining", error: { code: "SERVICE_UNAVAILABLE", message: "shutting down" } });
  }
  const { ok, report, down } = await checkHealth();
  if (ok) return json(200, report);
  return json(503, { ...report, error: { code: "SERVICE_UNAVAILABLE", message: `down: ${down.join(", ")}` } });
};

const liveness: RawHandler = async () => json(200, { status: "ok", draining: isDraining() });

const prometheus: RawHandler = async (req) => {
  const { contentType, body } = await scrapeMetrics(req.headers.get("authorization"));
  return { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" }, body };
};

export const routes: RawRoute[] = [
  { methods: ["GET"], path: "/api/health", handler: readiness },
  { methods: ["GET"], path: "/api/health/live", handler: liveness },
  { methods: ["GET"], path: "/api/metrics", handler: prometheus },
];
