import { checkHealth } from "~/server/services/health";
import { json } from "../raw";
import type { RawRoute } from "../router";

export const routes: RawRoute[] = [
  {
    methods: ["GET"],
    path: "/api/health",
    handler: async () => {
      const { ok, report, down } = await checkHealth();
      if (ok) return json(200, report);
      return json(503, { ...report, error: { code: "SERVICE_UNAVAILABLE", message: `down: ${down.join(", ")}` } });
    },
  },
];
