import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// GET /api/metrics (docs/API.md): Prometheus text, bearer token when METRICS_TOKEN is set, and the
// counters the issue names, moved by real requests through the same observation the custom server
// wraps every request in (http/observe.ts) and the tRPC middleware.
process.env.METRICS_TOKEN = "scrape-me-please";
process.env.LOG_LEVEL = "warn";

const { observeRequest } = await import("~/server/http/observe");
const { serveNode } = await import("~/server/http/raw");
const { matchRawRoute } = await import("~/server/http/routes");
const { contentDigest, patternBytes, postFiles, sendChunk, sha256hex } = await import("../helpers/upload-client");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { createHash } = await import("node:crypto");

let server: http.Server;
let base = "";
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const pathname = (req.url ?? "/").split("?", 1)[0]!;
    const raw = matchRawRoute(req.method ?? "GET", pathname);
    if (!raw) return void res.writeHead(404).end();
    const observed = observeRequest(req, res, raw.route);
    void observed.run(() => serveNode(raw.handler, raw.params, req, res)).then((out) => observed.errorCode(out.errorCode));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await deleteCreatedTestUsers();
});

const scrape = async () => {
  const res = await fetch(`${base}/api/metrics`, { headers: { authorization: "Bearer scrape-me-please" } });
  expect(res.status).toBe(200);
  return res.text();
};
const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("GET /api/metrics", () => {
  it("requires the bearer token when one is configured", async () => {
    const none = await fetch(`${base}/api/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${base}/api/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const ok = await fetch(`${base}/api/metrics`, { headers: { authorization: "Bearer scrape-me-please" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts latency by route, bytes, chunk errors by code, 秒传 and the deployment's gauges", async () => {
    const user = await createTestUser();
    const data = patternBytes(2 * 1024 * 1024, 5501);
    const session = await user.caller.upload.init({ name: "m.bin", size: data.length, chunkSize: 1024 * 1024 });
    if (!("chunkCount" in session)) throw new Error("expected chunks");
    // A chunk whose Content-Digest is wrong (422), then both chunks right.
    const bad = await sendChunk(base, user.authHeaders, session.uploadId, 0, data.subarray(0, 1024 * 1024), { "content-digest": contentDigest(Buffer.from("nope")) });
    expect(bad.status).toBe(422);
    for (const i of [0, 1]) expect((await sendChunk(base, user.authHeaders, session.uploadId, i, data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024))).status).toBe(200);
    await user.caller.upload.complete({ uploadId: session.uploadId });
    // 秒传 of the same content by another user: offered, then linked.
    const other = await createTestUser();
    const instant = await other.caller.upload.init({ name: "again.bin", size: data.length, sha256: sha256hex(data) });
    if (!("instant" in instant)) throw new Error("expected a challenge");
    const h = createHash("sha256");
    for (const r of instant.instant.ranges) h.update(data.subarray(r.offset, r.offset + r.length));
    await other.caller.upload.prove({ uploadId: instant.uploadId, challengeId: instant.instant.challengeId, proof: h.digest("hex") });
    await postFiles(base, user.authHeaders, [{ name: "f.bin", data: patternBytes(1000, 5502) }]);

    const text = await scrape();
    const chunkRoute = `route="/api/uploads/:uploadId/chunks/:index"`;
    expect(value(text, `filestore_upload_chunk_errors_total{kind="chunk",code="UNPROCESSABLE_CONTENT"}`)).toBe(1);
    expect(value(text, `filestore_http_request_duration_seconds_count{${chunkRoute},method="PUT",status="200"}`)).toBe(2);
    expect(value(text, `filestore_http_request_duration_seconds_count{${chunkRoute},method="PUT",status="422"}`)).toBe(1);
    expect(value(text, `filestore_http_received_bytes_total{${chunkRoute}}`)).toBeGreaterThan(3 * 1024 * 1024);
    expect(value(text, `filestore_http_sent_bytes_total{route="/api/files"}`)).toBeGreaterThan(100);
    expect(value(text, `filestore_uploads_in_flight{kind="chunk"}`)).toBe(0);
    expect(value(text, `filestore_instant_uploads_total{outcome="offered"}`)).toBe(1);
    expect(value(text, `filestore_instant_uploads_total{outcome="linked"}`)).toBe(1);
    expect(value(text, `filestore_trpc_duration_seconds_count{procedure="upload.complete",code="ok"}`)).toBe(1);
    expect(value(text, `filestore_queue_messages{queue="jobs"}`)).toBeGreaterThanOrEqual(0);
    expect(value(text, `filestore_queue_messages{queue="dead"}`)).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^filestore_outbox_jobs\{state="\w+"\} \d+$|# TYPE filestore_outbox_jobs gauge/m);
    expect(value(text, `filestore_db_pool_connections{pool="primary",state="limit"}`)).toBe(10);
    expect(value(text, `filestore_db_pool_connections{pool="primary",state="active"}`)).toBeGreaterThanOrEqual(0);
    expect(value(text, `filestore_db_pool_waiting{pool="primary"}`)).toBe(0);
    expect(text).toMatch(/^filestore_process_cpu_seconds_total \d/m);
  });
});
