import { putChunk } from "~/server/services/uploads/chunks";
import { uploadForm } from "~/server/services/uploads/form";
import { json, requireActor, requireUploadActor } from "../raw";
import { chunkBody, formParts } from "../upload-bodies";
import type { RawRoute } from "../router";

// Upload routes that carry file bytes. Served from node:http by the custom server and from the thin
// Next route files under src/app/api (same handlers).

export const routes: RawRoute[] = [
  {
    methods: ["POST"],
    path: "/api/files",
    handler: async (req) => {
      const actor = await requireActor(req);
      const files = await uploadForm(actor, formParts(req));
      return json(201, { files });
    },
  },
  {
    methods: ["PUT"],
    path: "/api/uploads/:uploadId/chunks/:index",
    handler: async (req, params) => {
      const actor = await requireUploadActor(req, params.uploadId ?? "");
      const result = await putChunk(actor, params.uploadId ?? "", params.index ?? "", chunkBody(req));
      return json(200, result);
    },
  },
];
