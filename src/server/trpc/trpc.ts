/**
 * tRPC core, in three parts (create-t3-app's shape):
 * 1. the context: one actor resolved from the next-auth session cookie or `Authorization: Bearer`;
 * 2. initialisation: superjson, and an error formatter that maps DomainError through the ONE table
 *    in ../errors.ts and puts zod issues in `data.zodError`;
 * 3. the procedures routers are built from.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import { resolveSession, type Actor } from "~/server/auth/actor";
import { notingWrites } from "~/server/db/causal";
import { actorFromUploadGrant, UPLOAD_TOKEN_HEADER } from "~/server/auth/upload-grant";
import { DomainError, errorTable } from "~/server/errors";
import { clientAddress } from "~/server/http/client-address";
import { metrics } from "~/server/metrics";

// 1. Context --------------------------------------------------------------------------------------

export interface TrpcContext {
  actor: Actor | null;
  /** The sign-in (refresh-token family) the credentials belong to; null when signed out. */
  sessionFamilyId?: string | null;
  headers: Headers;
  /** Headers to add to the HTTP response (cookies set by a procedure). */
  resHeaders: Headers;
  clientIp: string;
}

export async function createTrpcContext(opts: { headers: Headers; resHeaders?: Headers }): Promise<TrpcContext> {
  // Revoked, expired and disabled accounts' credentials resolve to no actor (see auth/actor.ts).
  const session = await resolveSession(opts.headers);
  return {
    actor: session?.actor ?? null,
    sessionFamilyId: session?.familyId ?? null,
    headers: opts.headers,
    resHeaders: opts.resHeaders ?? new Headers(),
    clientIp: clientAddress(opts.headers),
  };
}

// 2. Initialisation -------------------------------------------------------------------------------

function toTrpcError(cause: unknown): TRPCError | null {
  if (cause instanceof DomainError) {
    return new TRPCError({ code: errorTable[cause.code].trpc, message: cause.message, cause });
  }
  return null;
}

const t = initTRPC.context<TrpcContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const domain = error.cause instanceof DomainError ? error.cause : null;
    return {
      ...shape,
      message: error.cause instanceof ZodError ? "Invalid input" : shape.message,
      data: {
        ...shape.data,
        ...(domain ? { httpStatus: domain.status, domainCode: domain.code, details: domain.details ?? null } : {}),
        // API.md: why a refusal happened, e.g. UNAUTHORIZED with reason "otp_required"
        ...(typeof domain?.details?.reason === "string" ? { reason: domain.details.reason } : {}),
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
        zodIssues: error.cause instanceof ZodError ? error.cause.issues : null,
      },
    };
  },
});

/**
 * Turns DomainErrors thrown by services into TRPCErrors carrying the mapped code. A throttled call
 * answers 429 with `Retry-After` over HTTP, as raw routes do: the seconds travel in the error's details.
 */
const domainErrors = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    const retryAfter = cause instanceof DomainError ? cause.details?.retryAfter : undefined;
    if (typeof retryAfter === "number") ctx.resHeaders.set("Retry-After", String(Math.ceil(retryAfter)));
    const mapped = toTrpcError(cause);
    if (mapped) throw mapped;
  }
  return result;
});

/**
 * Metrics per procedure (latency and result code, /api/metrics), and the 秒传 outcomes, read from
 * what upload.init and upload.prove answered. The request id of the log context is already set by
 * the custom server around the whole request.
 */
const observed = t.middleware(async ({ path, next }) => {
  const started = performance.now();
  const result = await next();
  const code = result.ok ? "ok" : result.error.code;
  const m = metrics();
  m.trpcDuration.observe({ procedure: path, code }, (performance.now() - started) / 1000);
  if (path === "upload.init" && result.ok && (result.data as { instant?: unknown } | null)?.instant) {
    m.instantUploads.inc({ outcome: "offered" });
  } else if (path === "upload.prove") {
    if (result.ok) m.instantUploads.inc({ outcome: "linked" });
    else if (code === "FORBIDDEN") m.instantUploads.inc({ outcome: "refused" });
  }
  return result;
});

// 3. Procedures -----------------------------------------------------------------------------------

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure.use(observed).use(domainErrors);

/**
 * After a signed-in caller's mutation (ok or not: a failed one may have committed part of its work),
 * that user's next replica reads wait for it (db/causal.ts; a no-op without replicas). Tree changes
 * outside a mutation (the raw upload routes, an upload grant) are recorded by withTreeLock itself;
 * inside one, once at its end.
 */
const causalWrites = t.middleware(async ({ ctx, type, next }) => {
  const userId = ctx.actor?.userId;
  if (type !== "mutation" || !userId) return next();
  return notingWrites(userId, () => next());
});

export const protectedProcedure = publicProcedure.use(causalWrites).use(({ ctx, next }) => {
  if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});

/**
 * Procedures about one upload session (input `{ uploadId, ... }`): the caller's credentials, or
 * failing those that upload's grant in `X-Upload-Token` (see auth/upload-grant.ts), so an upload
 * finishes even when the sign-in expired while it ran.
 */
export const uploadProcedure = publicProcedure.use(causalWrites).use(async ({ ctx, getRawInput, next }) => {
  let actor = ctx.actor;
  if (!actor) {
    const uploadId = ((await getRawInput()) as { uploadId?: unknown } | null)?.uploadId;
    if (typeof uploadId === "string") actor = await actorFromUploadGrant(ctx.headers.get(UPLOAD_TOKEN_HEADER), uploadId);
  }
  if (!actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  return next({ ctx: { ...ctx, actor } });
});
