import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { projectRoot } from "./processes";

// A real nginx (Debian's package; scripts/test.sh installs it) running the deploy file
// deploy/nginx/filestore.conf.template, rendered the way the official nginx image does it
// (envsubst of ${NAME}), inside a minimal main config that only moves nginx's own files (pid, logs,
// temp dirs) into a throwaway directory. The server and upstream blocks are the deploy file's.

export const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";
export const NGINX_TEMPLATE = path.join(projectRoot, "deploy/nginx/filestore.conf.template");

/** `${NAME}` → value, as envsubst does; a name the map lacks is an error (a typo in the template). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template variable \${${name}} has no value`);
    return value;
  });
}

/** The `${NAME}` variables a template uses. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface RunningNginx {
  /** The master process's pid (its workers are its children). */
  pid: number;
  baseUrl: string;
  port: number;
  dir: string;
  /** nginx's error log so far. */
  errorLog(): Promise<string>;
  /** nginx's access log so far (one line per request: request id, upstream, status). */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs the deploy template with `values` (NGINX_LISTEN is 127.0.0.1:<port>, a free one unless given). */
export async function startNginx(values: Record<string, string>, listenPort?: number): Promise<RunningNginx> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: apt-get install nginx-light (scripts/test.sh does)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "fs-nginx-"));
  const port = listenPort ?? (await freePort());
  const site = renderTemplate(await readFile(NGINX_TEMPLATE, "utf8"), { ...values, NGINX_LISTEN: `127.0.0.1:${port}` });
  await writeFile(path.join(dir, "filestore.conf"), site);
  // As root, nginx's workers would switch to "nobody" and could not read our 0700 temp dirs.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  await writeFile(
    path.join(dir, "nginx.conf"),
    `${user}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  log_format upstreams '$request_id $request_method $uri $status $upstream_addr';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/filestore.conf;
}
`,
  );
  const conf = path.join(dir, "nginx.conf");
  const check = spawnSync(NGINX, ["-t", "-p", dir, "-c", conf], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const proc: ChildProcess = spawn(NGINX, ["-p", dir, "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${stderr}`);
    const up = await fetch(`${baseUrl}/__nginx_probe`, { method: "HEAD" }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: proc.pid!,
    baseUrl,
    port,
    dir,
    errorLog: () => readFile(path.join(dir, "error.log"), "utf8").catch(() => ""),
    accessLog: () => readFile(path.join(dir, "access.log"), "utf8").catch(() => ""),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGQUIT");
        const exited = new Promise((r) => proc.once("exit", r));
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
