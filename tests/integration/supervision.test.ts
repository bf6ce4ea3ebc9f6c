import { spawn } from "node:child_process";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/browser";
import { projectRoot } from "../helpers/processes";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { patternBytes, postFiles, sha256hex } from "../helpers/upload-client";
import { createTestUser, deleteCreatedTestUsers, type TestUser } from "../helpers/users";
import { startWebInstance, until } from "../helpers/web-instances";

// Supervision and shutdown (issue 12): the real web server (src/server/main.ts, production build)
// and the real worker, run by the real supervisor (scripts/lib/supervisor.mjs, what `npm start`
// runs). A broker outage is a cut network between them and the shared RabbitMQ (a TCP forwarder we
// cut and restore), so the shared broker itself is never stopped.

let user: TestUser;
beforeAll(async () => {
  user = await createTestUser();
});
afterAll(async () => {
  await deleteCreatedTestUsers();
});

/** A chunk-like slow request: sends `first` bytes of a body of `total`, then waits for `finish()`. */
function slowPost(baseUrl: string, total: number, first: number) {
  const req = http.request(`${baseUrl}/api/files`, {
    method: "POST",
    headers: { ...user.authHeaders, "content-type": "multipart/form-data; boundary=XyZ", "content-length": String(total) },
  });
  const head = Buffer.from(`--XyZ\r\ncontent-disposition: form-data; name="file"; filename="slow.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--XyZ--\r\n`);
  const body = Buffer.concat([head, patternBytes(total - head.length - tail.length, 77), tail]);
  const result = new Promise<{ status: number; text: string }>((resolve) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", () => resolve({ status: 0, text: "" }));
  });
  req.write(body.subarray(0, first));
  return { finish: () => req.end(body.subarray(first)), result, size: body.length };
}

describe("SIGTERM on the web server", () => {
  it("fails readiness first, finishes requests in flight within the bound, then closes its connections", async () => {
    const web = await startWebInstance("drain", { SHUTDOWN_DRAIN_SECONDS: "2", SHUTDOWN_TIMEOUT_SECONDS: "6" });
    expect((await fetch(`${web.baseUrl}/api/health`)).status).toBe(200);

    const finishing = slowPost(web.baseUrl, 3 * 1024 * 1024, 1024 * 1024);
    const stuck = slowPost(web.baseUrl, 3 * 1024 * 1024, 1024);
    await until("both uploads in flight", async () =>
      /filestore_uploads_in_flight\{kind="form"\} 2/.test(await (await fetch(`${web.baseUrl}/api/metrics`)).text()),
    );
    const exited = new Promise<number | null>((resolve) => web.process.child.once("exit", resolve));
    const started = Date.now();
    web.process.child.kill("SIGTERM");

    // Readiness fails at once; liveness holds; the listener is still open during the drain.
    await until("readiness to fail", async () => (await fetch(`${web.baseUrl}/api/health`)).status === 503, 30_000);
    const ready = await fetch(`${web.baseUrl}/api/health`);
    expect(await ready.json()).toMatchObject({ server: "draining" });
    const live = await fetch(`${web.baseUrl}/api/health/live`);
    expect(live.status).toBe(200);
    expect(live.headers.get("connection")).toBe("close");

    // After the drain the listener is closed: new connections are refused.
    await until("the listener to close", async () => !(await fetch(`${web.baseUrl}/api/health/live`).then(() => true, () => false)), 30_000);
    // The upload that goes on finishes normally, after the listener closed.
    finishing.finish();
    const done = await finishing.result;
    expect(done.status).toBe(201);
    expect(JSON.parse(done.text).files[0].name).toBe("slow.bin");

    // The one that never finishes is cut at the bound, and the process exits cleanly.
    expect(await exited).toBe(0);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2_000 + 6_000 - 500);
    expect(took).toBeLessThan(90_000);
    expect((await stuck.result).status).toBe(0);
    const messages = web.records().map((r) => String(r.msg));
    const order = ["shutting down: readiness now fails", "listener closed; waiting for requests in flight", "requests still in flight after the shutdown timeout: cutting them", "stopped: database, Redis and AMQP connections closed"];
    const positions = order.map((m) => messages.indexOf(m));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  }, 180_000);
});

describe("the supervisor (npm start)", () => {
  let proxy: TcpProxy;
  afterAll(async () => {
    await proxy?.close();
  });

  it("keeps the web server up through worker crashes (restarted with backoff) and a broker outage (the worker reconnects)", async () => {
    const broker = new URL(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
    proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    broker.host = `127.0.0.1:${proxy.port}`;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, ["scripts/lib/supervisor.mjs"], {
      cwd: projectRoot,
      env: { ...process.env, NODE_ENV: "production", LOG_FORMAT: "json", HOST: "127.0.0.1", PORT: String(port), NEXTAUTH_URL: base, AMQP_URL: broker.toString(), SHUTDOWN_DRAIN_SECONDS: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.stderr!.on("data", (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const count = (re: RegExp) => out.split("\n").filter((l) => re.test(l)).length;
    try {
      await until("web and worker up", async () => /listening on/.test(out) && count(/consuming /) === 1, 120_000);
      const webPid = (JSON.parse(out.split("\n").find((l) => /listening on/.test(l))!) as { pid: number }).pid;
      const live = async () => (await fetch(`${base}/api/health/live`)).status === 200;
      const data = patternBytes(256 * 1024, 91);
      const uploadWorks = async () => (await postFiles(base, user.authHeaders, [{ name: "during.bin", data }])).status === 201;

      // 1. The worker crashes (kill -9), three times in quick succession: each time it is
      //    restarted, after a delay that doubles with each quick failure; the web server never notices.
      const workerPids = () => out.split("\n").filter((l) => /consuming /.test(l)).map((l) => (JSON.parse(l) as { pid: number }).pid);
      for (let crash = 1; crash <= 3; crash++) {
        process.kill(workerPids()[crash - 1]!, "SIGKILL");
        await until(`the worker restarted (${crash})`, async () => count(/consuming /) === crash + 1, 120_000);
        expect(await live()).toBe(true);
      }
      expect(out).toMatch(/\[supervisor\] worker exited \(signal SIGKILL\) after [\d.]+ s; restarting in 1\.0 s/);
      const delays = [...out.matchAll(/\[supervisor\] worker exited .* restarting in ([\d.]+) s/g)].map((m) => Number(m[1]));
      expect(delays).toEqual([1, 2, 4]);
      const workerPid = workerPids()[3]!;

      // 2. The broker goes away: the worker keeps running and reconnects by itself (no restart);
      //    the web server keeps serving uploads meanwhile and reports the queue as not ok.
      await proxy.cut();
      await until("the worker noticed the outage", async () => /lost the RabbitMQ connection|cannot reach RabbitMQ/.test(out), 120_000);
      expect(await live()).toBe(true);
      expect(await uploadWorks()).toBe(true);
      const health = await (await fetch(`${base}/api/health`)).json();
      expect(String(health.queue)).not.toBe("ok");
      expect(health.db).toBe("ok");

      // 3. The broker is back: the same worker process is consuming again by itself.
      await proxy.restore();
      await until("the worker consuming again", async () => count(/consuming /) === 5, 120_000);
      expect(workerPids()[4]).toBe(workerPid);
      expect(count(/\[supervisor\] worker exited/)).toBe(3);
      expect(await uploadWorks()).toBe(true);
      const listing = await user.caller.file.list({});
      expect(listing.items.filter((e) => e.name.startsWith("during")).length).toBe(2);
      expect(sha256hex(data)).toBe(listing.items.find((e) => e.name === "during.bin")!.sha256);

      // The web process was the same one all along.
      expect(count(/listening on/)).toBe(1);
      expect(JSON.parse(out.split("\n").find((l) => /listening on/.test(l))!).pid).toBe(webPid);

      // 4. SIGTERM: both stop, the supervisor exits 0.
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).toMatch(/\[supervisor\] web stopped/);
      expect(out).toMatch(/\[supervisor\] worker stopped/);
    } finally {
      if (child.exitCode === null) {
        // The supervisor stops its children on SIGTERM; SIGKILL only if it does not.
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        await exited;
        clearTimeout(timer);
      }
    }
  }, 480_000);
});
