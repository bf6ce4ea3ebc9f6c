import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import busboy from "busboy";

// The yardstick: a bare node:http server doing only busboy + sha256 + file write (no auth, no
// database, no quota). BASELINE_FSYNC=1 flushes files to disk before answering, as the local
// storage driver does. Prints "READY <port>".
//
// It keeps the files it wrote until it stops, as the drive keeps what it stores. Deleting each one
// right after writing it (BASELINE_KEEP=0, what it did until issue 13) spares the kernel the work of
// keeping the written pages: over five 1 GiB uploads in a row its system time stayed at
// 1.8–2.5 s/GiB deleting, and rose 1.6 → 4.7 s/GiB keeping, so a deleting yardstick made every
// server that keeps its files look ~1 s/GiB dearer than it is.

const dir = await mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "fs-baseline-"));
const fsync = process.env.BASELINE_FSYNC === "1";
let n = 0;

const server = http.createServer((req, res) => {
  const bb = busboy({ headers: req.headers });
  const done: Array<Promise<string>> = [];
  bb.on("file", (_name, file) => {
    const target = path.join(dir, String(n++));
    const hash = createHash("sha256");
    file.on("data", (b: Buffer) => hash.update(b));
    done.push(pipeline(file, createWriteStream(target, { flush: fsync })).then(async () => {
      if (process.env.BASELINE_KEEP === "0") await rm(target, { force: true });
      return hash.digest("hex");
    }));
  });
  bb.on("close", () => {
    void Promise.all(done).then((sha) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ sha256: sha }));
    });
  });
  req.pipe(bb);
});
server.requestTimeout = 0;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === "object" && address ? address.port : 0}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void rm(dir, { recursive: true, force: true }).then(() => process.exit(0));
});
