// A node:http server with only the raw routes (no Next), as a separate process, for tests that need
// a server with a different environment (e.g. a service pointed at a dead address).
import http from "node:http";
import { serveNode } from "~/server/http/raw";
import { matchRawRoute } from "~/server/http/routes";

const server = http.createServer((req, res) => {
  const match = matchRawRoute(req.method ?? "GET", (req.url ?? "/").split("?")[0]!);
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  void serveNode(match.handler, match.params, req, res);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
