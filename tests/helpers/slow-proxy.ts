import http from "node:http";
import type { AddressInfo } from "node:net";

// A transparent HTTP proxy in front of an S3 endpoint (Ceph RGW) that can hold every request back
// for a while, so a test can catch a transfer in the middle of its multipart upload (to kill the
// worker, or purge the file, right then). Headers are forwarded untouched — Host included — so the
// SigV4 signatures the client made for the proxy's address still verify at RGW.

export interface SlowProxy {
  endpoint: string;
  /** Delay before each request is forwarded (0: none). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowProxy(upstream: string): Promise<SlowProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const state = { delayMs: 0 };
  const server = http.createServer((req, res) => {
    const forward = () => {
      const out = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on("error", () => res.destroy());
      req.pipe(out);
    };
    if (state.delayMs > 0) setTimeout(forward, state.delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
