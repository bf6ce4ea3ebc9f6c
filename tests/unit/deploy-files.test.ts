import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parseDocument } from "yaml";
import { envVariableNames } from "~/env";
import { NGINX_TEMPLATE, templateVariables } from "../helpers/nginx";
import { projectRoot } from "../helpers/processes";

// The deploy files (deploy/) cannot be run here (no container engine, no cluster). What can be
// proved: they parse, every variable they hand the drive is one src/env.ts reads (a typo would be
// silently ignored at run time), nginx gets every variable its template uses, and the shapes the
// issue asks for are there (probes, limits, non-root, the worker and the migration job).

const deploy = (...p: string[]) => path.join(projectRoot, "deploy", ...p);
const known = new Set(envVariableNames);
const interpolated = (value: unknown) => [...String(value).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);

type Doc = Record<string, any>;

describe("deploy/docker-compose.yml", () => {
  const compose = parseDocument(readFileSync(deploy("docker-compose.yml"), "utf8"), { merge: true }).toJS({ maxAliasCount: 100 }) as Doc;
  const services = compose.services as Record<string, Doc>;
  const drive = Object.entries(services).filter(([, s]) => String(s.image).startsWith("filestore"));

  it("has the pieces of a multi-machine deployment", () => {
    expect(Object.keys(services).sort()).toEqual(
      ["mariadb-primary", "mariadb-replica", "migrate", "minio", "nginx", "rabbitmq", "redis", "web1", "web2", "worker"].sort(),
    );
    expect(drive.map(([name]) => name).sort()).toEqual(["migrate", "web1", "web2", "worker"]);
    expect(services.worker!.command).toEqual(["node", "--max-semi-space-size=4", "dist/worker.mjs"]);
    expect(services.migrate!.command).toEqual(["node", "dist/migrate.mjs"]);
    expect(services.web1!.depends_on.migrate.condition).toBe("service_completed_successfully");
    expect(services["mariadb-replica"]!.environment.MARIADB_MASTER_HOST).toBe("mariadb-primary");
  });

  it("gives the drive only variables src/env.ts reads", () => {
    for (const [name, service] of drive) {
      for (const [key, value] of Object.entries(service.environment as Record<string, unknown>)) {
        expect(known.has(key), `${name}: ${key}`).toBe(true);
        for (const v of interpolated(value)) expect(known.has(v), `${name}: \${${v}}`).toBe(true);
      }
      expect(service.environment.DATABASE_REPLICA_URLS, name).toMatch(/mariadb-replica/);
      expect(service.environment.STORAGE_DRIVER).toBe("s3");
    }
  });

  it("runs nginx with the template the scale-out test runs, and gives it every variable it uses", () => {
    const nginx = services.nginx!;
    expect(nginx.volumes).toContain("./nginx/filestore.conf.template:/etc/nginx/templates/filestore.conf.template:ro");
    const template = readFileSync(NGINX_TEMPLATE, "utf8");
    expect(Object.keys(nginx.environment).sort()).toEqual(templateVariables(template).sort());
    expect(nginx.environment.FILESTORE_WEB_1).toBe("web1:3000");
    expect(nginx.environment.FILESTORE_WEB_2).toBe("web2:3000");
  });
});

describe("deploy/k8s", () => {
  const files = readdirSync(deploy("k8s")).filter((f) => f.endsWith(".yaml"));
  const docs: Doc[] = files.flatMap((f) =>
    parseAllDocuments(readFileSync(deploy("k8s", f), "utf8")).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as Doc;
    }),
  );
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const named = (kind: string, name: string) => byKind(kind).find((d) => d.metadata.name === name)!;
  const containers = (d: Doc): Doc[] => d.spec.template.spec.containers;

  it("lists every manifest in the kustomization", () => {
    const kustomization = docs.find((d) => d.kind === "Kustomization")!;
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== "kustomization.yaml").sort());
  });

  it("sets only variables src/env.ts reads (ConfigMap, Secret, container env)", () => {
    const config = named("ConfigMap", "filestore-config");
    const secret = named("Secret", "filestore-secrets");
    for (const key of [...Object.keys(config.data), ...Object.keys(secret.stringData)]) expect(known.has(key), key).toBe(true);
    expect(Object.keys(secret.stringData)).toEqual(expect.arrayContaining(["AUTH_SECRET", "DATABASE_URL", "DATABASE_REPLICA_URLS", "METRICS_TOKEN"]));
    for (const d of [...byKind("Deployment"), ...byKind("Job")]) {
      for (const c of containers(d)) {
        for (const e of c.env ?? []) expect(known.has(e.name), `${d.metadata.name}: ${e.name}`).toBe(true);
        const refs = (c.envFrom ?? []).map((r: Doc) => r.configMapRef?.name ?? r.secretRef?.name);
        expect(refs, d.metadata.name).toEqual(["filestore-config", "filestore-secrets"]);
      }
    }
  });

  it("web: probes on liveness and readiness, limits, non-root, a Service", () => {
    const web = named("Deployment", "filestore-web");
    expect(web.spec.replicas).toBeGreaterThanOrEqual(2);
    const [c] = containers(web);
    expect(c!.command).toEqual(["node", "dist/server.mjs"]);
    expect(c!.livenessProbe.httpGet.path).toBe("/api/health/live");
    expect(c!.readinessProbe.httpGet.path).toBe("/api/health");
    expect(c!.startupProbe.httpGet.path).toBe("/api/health/live");
    expect(c!.resources.limits.memory).toBeTruthy();
    expect(c!.resources.limits.cpu).toBeTruthy();
    expect(web.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(web.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(5 + 30);
    expect(named("Service", "filestore-web").spec.selector).toEqual(web.spec.selector.matchLabels);
  });

  it("worker Deployment and migration Job run the bundled entry points with limits", () => {
    const worker = named("Deployment", "filestore-worker");
    expect(containers(worker)[0]!.command).toEqual(["node", "--max-semi-space-size=4", "dist/worker.mjs"]);
    expect(containers(worker)[0]!.resources.limits.memory).toBeTruthy();
    const job = byKind("Job")[0]!;
    expect(job.spec.template.spec.containers[0].command).toEqual(["node", "dist/migrate.mjs"]);
  });

  it("Ingress: no body limit and timeouts for 64 MiB chunks, streamed", () => {
    const a = named("Ingress", "filestore").metadata.annotations as Record<string, string>;
    const body = a["nginx.ingress.kubernetes.io/proxy-body-size"]!;
    expect(body === "0" || Number.parseInt(body, 10) >= 64).toBe(true);
    expect(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(120);
    expect(Number(a["nginx.ingress.kubernetes.io/proxy-send-timeout"])).toBeGreaterThanOrEqual(120);
    expect(a["nginx.ingress.kubernetes.io/proxy-request-buffering"]).toBe("off");
  });
});

describe("deploy/Dockerfile", () => {
  const text = readFileSync(deploy("Dockerfile"), "utf8");
  it("is multi-stage, builds the standalone server folder and runs it as a non-root user", () => {
    expect(text.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/RUN npx next build && node scripts\/build-server\.mjs \/server/);
    const user = /^USER (\S+)/m.exec(text)![1]!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(text).toMatch(/^CMD \["node", "dist\/server\.mjs"\]/m);
    // Variables the image sets are the drive's own.
    const envBlock = /^ENV ([\s\S]*?)\n(?!\s)/m.exec(text)![1]!;
    for (const [, key] of envBlock.matchAll(/([A-Z_]+)=/g)) {
      expect(known.has(key!) || ["NEXT_TELEMETRY_DISABLED", "MALLOC_ARENA_MAX"].includes(key!), key).toBe(true);
    }
  });
});
