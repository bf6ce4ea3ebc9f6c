import { z } from "zod";

// The one place that reads process.env (web app, custom server, worker, scripts and tests alike).
// Every variable, its default and its purpose is listed in README.md; keep the two in step.

const bool = z
  .enum(["true", "false", "1", "0", ""])
  .transform((v) => v === "true" || v === "1");

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

const schema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Public origin of the drive; next-auth and signed URLs are built from it. */
  NEXTAUTH_URL: z.string().url().default("http://localhost:3000"),
  /** Signs session cookies, access tokens and download URLs. Required in production. */
  AUTH_SECRET: optional,

  DATABASE_URL: z.string().default("mysql://root@127.0.0.1:3306/filestore"),
  /**
   * Comma-separated read replicas (MariaDB, GTID replication from DATABASE_URL). The reads listed in
   * src/server/db/reads.ts go there; writes, transactions and reads that decide a write stay on
   * DATABASE_URL. README "Read replicas".
   */
  DATABASE_REPLICA_URLS: optional,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).default(10),
  /** A replica further behind the primary than this is skipped until it catches up. */
  REPLICA_MAX_LAG_SECONDS: z.coerce.number().min(0).default(30),
  /** How long a read waits on a replica for the reader's own last write (MASTER_GTID_WAIT) before it goes to the primary. */
  REPLICA_CAUSAL_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /** How often each replica's state and lag are measured (and a skipped one is tried again). */
  REPLICA_PROBE_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  /** Connect/acquire timeout of a replica's pool and of its probe: a dead replica is noticed this fast. */
  REPLICA_TIMEOUT_MS: z.coerce.number().int().min(50).default(2000),
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Key prefix, so several drives (or test runs) can share one Redis. */
  REDIS_PREFIX: z.string().default("fs:"),
  AMQP_URL: z.string().default("amqp://guest:guest@127.0.0.1:5672"),
  /** Prefix for exchanges and queues, so several drives (or test runs) can share one broker. */
  AMQP_PREFIX: z.string().default("filestore"),

  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).default(30),
  SIGNIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Trust X-Forwarded-For for the client address (only behind a proxy you run). */
  TRUST_PROXY: bool.default(false),

  DEFAULT_QUOTA_BYTES: z.coerce.number().int().min(0).default(10 * 1024 ** 3),

  // Accounts (issue 14): sign-up policy, throttles, the admin, mail. README "Accounts".
  /** open: anyone signs up; invite: only with an admin's invitation; closed: nobody. */
  SIGNUP_MODE: z.enum(["open", "invite", "closed"]).default("open"),
  /** Sign-up attempts allowed per client address per SIGNUP_WINDOW_SECONDS. */
  SIGNUP_MAX_PER_ADDRESS: z.coerce.number().int().min(1).default(10),
  SIGNUP_WINDOW_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** Failed sign-ins per window for one username from one client address (a person mistyping). */
  SIGNIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  /** Failed sign-ins per window for one username from all addresses it never signed in from. */
  SIGNIN_MAX_FAILURES_PER_USER: z.coerce.number().int().min(1).default(50),
  /** Failed sign-ins per window from one client address, all usernames together (a NAT, an office). */
  SIGNIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  /** This account is an admin (besides the first account created). */
  ADMIN_USERNAME: optional,
  /** Lifetime of a password-reset link. */
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().int().min(1).default(60),
  /** Lifetime of a sign-up invitation (SIGNUP_MODE=invite). */
  INVITE_TTL_DAYS: z.coerce.number().int().min(1).default(7),
  /** SMTP server for mail; without it mail is written to the server log instead. */
  SMTP_HOST: optional,
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
  SMTP_SECURE: bool.default(false),
  SMTP_USER: optional,
  SMTP_PASSWORD: optional,
  /** The From of every mail, e.g. `filestore <drive@example.com>` (default no-reply@<NEXTAUTH_URL host>). */
  MAIL_FROM: optional,

  STORAGE_DRIVER: z.enum(["local", "s3", "oss"]).default("local"),
  STORAGE_LOCAL_DIR: z.string().default("./data/storage"),
  /** Key prefix inside the bucket (or directory) for everything the drive stores. */
  STORAGE_PREFIX: z.string().default(""),
  /**
   * How downloads are served: `proxy` streams through the drive; `redirect` answers s3/oss blobs with
   * a 302 to a presigned URL; `accel` lets nginx send local-disk blobs (X-Accel-Redirect, see
   * DOWNLOAD_ACCEL_PREFIX) after the drive has authorised the request and set the headers.
   */
  DOWNLOAD_MODE: z.enum(["proxy", "redirect", "accel"]).default("proxy"),

  S3_ENDPOINT: optional,
  S3_REGION: z.string().default("us-east-1"),
  S3_BUCKET: z.string().default("filestore"),
  S3_ACCESS_KEY_ID: optional,
  S3_SECRET_ACCESS_KEY: optional,
  S3_FORCE_PATH_STYLE: bool.default(true),
  /** The storage check (start-up, /api/health) creates S3_BUCKET when it does not exist. */
  S3_CREATE_BUCKET: bool.default(true),

  OSS_REGION: optional,
  OSS_ENDPOINT: optional,
  OSS_BUCKET: z.string().default("filestore"),
  OSS_ACCESS_KEY_ID: optional,
  OSS_ACCESS_KEY_SECRET: optional,
  /** Path-style (second-level-domain) addressing, needed for IP or localhost endpoints. */
  OSS_PATH_STYLE: bool.default(false),
  /** Tests only: also run the storage contract against real Aliyun OSS with the OSS_* credentials. */
  OSS_LIVE: bool.default(false),

  UPLOAD_DEFAULT_CHUNK_BYTES: z.coerce.number().int().min(1024 * 1024).default(8 * 1024 * 1024),
  UPLOAD_SESSION_TTL_HOURS: z.coerce.number().min(0.001).default(24),
  TRASH_RETENTION_DAYS: z.coerce.number().min(0).default(30),

  // --- Async transfer and background jobs (README.md, "Storage tiers" and "Background jobs") ---
  /** Object store every blob committed on the upload tier (STORAGE_DRIVER) is moved to by the worker; unset: blobs stay. */
  TRANSFER_TARGET: z
    .enum(["s3", "oss", ""])
    .optional()
    .transform((v) => (v ? v : undefined)),
  /** How long the source copy of a moved blob is kept after the switch, so downloads in flight finish. */
  TRANSFER_GRACE_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** Blobs smaller than this stay on the upload tier. */
  TRANSFER_MIN_BYTES: z.coerce.number().int().min(0).default(0),
  /** Part size of a transfer's multipart upload; memory is (TRANSFER_PART_CONCURRENCY + 1) parts per transfer. */
  TRANSFER_PART_BYTES: z.coerce.number().int().min(5 * 1024 * 1024).max(512 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Parts of one transfer uploaded at once. */
  TRANSFER_PART_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  /** Messages one worker handles at once (AMQP prefetch). */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Runs of a job before it is dead-lettered (a permanent error dead-letters at once). */
  JOB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),
  /** Delays before retries 1, 2, ... (the last repeats), each a delay queue: e.g. "5s,30s,2m,10m,30m". */
  JOB_RETRY_DELAYS: z
    .string()
    .default("5s,30s,2m,10m,30m")
    .transform((v, ctx) => {
      const delays = v.split(",").map((part) => parseDuration(part.trim()));
      if (delays.length === 0 || delays.some((d) => d === null || d < 100 || d > 7 * 86_400_000)) {
        ctx.addIssue({ code: "custom", message: 'expected durations between 100ms and 7d, e.g. "5s,30s,2m"' });
        return z.NEVER;
      }
      return delays as number[];
    }),
  /** A running job's lease; the worker extends it every third of this while it works. */
  JOB_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /** Done outbox rows are deleted after this long. */
  JOB_DONE_RETENTION_HOURS: z.coerce.number().min(0).default(24),

  // --- Operations: logs, metrics, shutdown, per-user limits, nginx downloads (issue 12) ---------
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `json` (one object per line) or `pretty` (for people); unset: pretty in development, json otherwise. */
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  /** When set, GET /api/metrics (and the worker's metrics port) require `Authorization: Bearer <token>`. */
  METRICS_TOKEN: optional,
  /** The worker serves Prometheus metrics on this port (0 or unset: no metrics server). */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** SIGTERM: readiness answers 503 for this long before the listener closes (balancers notice). */
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).default(3),
  /** SIGTERM: requests in flight get this long to finish before their connections are cut. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(0).default(30),
  /** DOWNLOAD_MODE=accel: the internal nginx location that aliases STORAGE_LOCAL_DIR. */
  DOWNLOAD_ACCEL_PREFIX: z
    .string()
    .regex(/^\/([^/?#]+\/)+$/, "an absolute path that ends with a slash, e.g. /_filestore_local/")
    .default("/_filestore_local/"),
  /** Per-user token buckets (capacity = the per-minute figure, refilled evenly; 0 turns one off). */
  RATE_LIMIT_SEARCH_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  /** Entries touched by file.copy / file.move (a copied folder counts every entry inside it). */
  RATE_LIMIT_TREE_ENTRIES_PER_MINUTE: z.coerce.number().int().min(0).default(20_000),
  RATE_LIMIT_PURGE_PER_MINUTE: z.coerce.number().int().min(0).default(10),
  /** Download requests started per user (own files and their signed URLs) or per address (shares). */
  RATE_LIMIT_DOWNLOADS_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /** Downloads the drive streams at once per user or address (proxy mode; 0: no limit). */
  DOWNLOADS_MAX_PARALLEL: z.coerce.number().int().min(0).default(16),
}).superRefine((e, ctx) => {
  if (e.TRANSFER_TARGET && e.TRANSFER_TARGET === e.STORAGE_DRIVER) {
    ctx.addIssue({ code: "custom", path: ["TRANSFER_TARGET"], message: `must differ from STORAGE_DRIVER (${e.STORAGE_DRIVER}): it is the tier blobs move to` });
  }
});

/** "250ms", "5s", "2m", "1h", "1d" or a bare number of milliseconds; null when unreadable. */
function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text);
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"]!;
  return Math.round(Number(m[1]) * unit);
}

/** Every variable the drive reads (tests check that deploy files name no other). */
export const envVariableNames: readonly string[] = Object.keys(schema.shape);

export type Env = z.infer<typeof schema>;

function load(): Env {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration (see README.md, "Configuration"):\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export const env: Env = load();

const DEV_SECRET = "filestore-development-secret-change-me-0000";

/** The signing secret; a fixed development value outside production so `npm run dev` just works. */
export function authSecret(): string {
  if (env.AUTH_SECRET) return env.AUTH_SECRET;
  if (env.NODE_ENV === "production") {
    throw new Error("AUTH_SECRET is not set (npm start generates one into ./data/auth-secret)");
  }
  return DEV_SECRET;
}
