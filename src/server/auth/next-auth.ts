import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { authSecret, env } from "~/env";
import { DomainError } from "~/server/errors";
import { clientAddress } from "~/server/http/client-address";
import { sessionClaims } from "./actor";
import { activeSession } from "./revocation";
import { endSession, startBrowserSession } from "./sessions";
import { authenticate, SIGNIN_REASON } from "./signin";
import { logger } from "~/server/log";

const log = logger("next-auth");

// next-auth (v4) for the browser: the credentials provider runs the same authenticate() as
// `auth.signin` (same throttles), sessions are JWT cookies carrying the user id, the username and
// the sign-in's family id, and resolveActor (./actor.ts) reads that cookie for tRPC and raw routes.

declare module "next-auth" {
  interface User {
    id: string;
    username: string;
    familyId: string;
  }
  interface Session {
    user: { id: string; username: string };
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    username?: string;
    familyId?: string;
  }
}

/**
 * Error strings the sign-in page receives from `signIn("credentials", { redirect: false })`.
 * A throttled sign-in is `THROTTLED:<seconds>`; after the right password, `OTP_REQUIRED` asks for
 * the two-factor code, `OTP_INVALID` says it was wrong, `ACCOUNT_DISABLED` that the account is off.
 */
export const SIGNIN_ERROR = {
  wrongCredentials: "CredentialsSignin",
  throttledPrefix: "THROTTLED:",
  otpRequired: "OTP_REQUIRED",
  otpInvalid: "OTP_INVALID",
  disabled: "ACCOUNT_DISABLED",
} as const;

const REASON_ERRORS: Record<string, string> = {
  [SIGNIN_REASON.otpRequired]: SIGNIN_ERROR.otpRequired,
  [SIGNIN_REASON.otpInvalid]: SIGNIN_ERROR.otpInvalid,
  [SIGNIN_REASON.disabled]: SIGNIN_ERROR.disabled,
};

const REVOKED = "session revoked";

function headersFrom(raw: Record<string, unknown> | undefined): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) if (typeof v === "string") headers.append(name, v);
  }
  return headers;
}

function buildOptions(): NextAuthOptions {
  return {
    secret: authSecret(),
    session: { strategy: "jwt", maxAge: env.REFRESH_TOKEN_TTL_DAYS * 86_400 },
    pages: { signIn: "/signin" },
    providers: [
      CredentialsProvider({
        name: "Username and password",
        credentials: {
          username: { label: "Username", type: "text" },
          password: { label: "Password", type: "password" },
          otp: { label: "Two-factor code", type: "text" },
        },
        async authorize(credentials, req) {
          const username = typeof credentials?.username === "string" ? credentials.username : "";
          const password = typeof credentials?.password === "string" ? credentials.password : "";
          const otp = typeof credentials?.otp === "string" ? credentials.otp : "";
          const clientIp = clientAddress(headersFrom(req?.headers as Record<string, unknown> | undefined));
          try {
            const actor = await authenticate({ username, password, otp }, { clientIp });
            const { familyId } = await startBrowserSession(actor);
            return { id: actor.userId, name: actor.username, username: actor.username, familyId };
          } catch (e) {
            if (e instanceof DomainError && e.code === "UNAUTHORIZED") {
              const reason = e.details?.reason;
              if (typeof reason === "string" && REASON_ERRORS[reason]) throw new Error(REASON_ERRORS[reason]);
              return null;
            }
            if (e instanceof DomainError && e.code === "TOO_MANY_REQUESTS") {
              throw new Error(`${SIGNIN_ERROR.throttledPrefix}${String(e.details?.retryAfter ?? "")}`);
            }
            throw e;
          }
        },
      }),
    ],
    callbacks: {
      async jwt({ token, user }) {
        if (user) {
          return { sub: user.id, name: user.username, username: user.username, familyId: user.familyId };
        }
        // Every session read re-checks the sign-in: signed out elsewhere, revoked or disabled ends it here.
        const claims = sessionClaims(token);
        if (!claims || !(await activeSession(claims.familyId, claims.sub))) throw new Error(REVOKED);
        return token;
      },
      session({ session, token }) {
        const claims = sessionClaims(token);
        if (claims) session.user = { id: claims.sub, username: claims.username };
        return session;
      },
    },
    events: {
      async signOut({ token }) {
        const claims = sessionClaims(token);
        if (claims) await endSession(claims.familyId);
      },
    },
    logger: {
      error(code, metadata) {
        // A revoked session is an expected end, not an error worth a stack trace.
        if (code === "JWT_SESSION_ERROR" && metadata instanceof Error && metadata.message === REVOKED) return;
        log.error({ err: metadata }, code);
      },
      warn(code) {
        log.warn(code);
      },
      debug() {},
    },
  };
}

let options: NextAuthOptions | undefined;

/** Built on first use, not at import: `next build` loads this module without AUTH_SECRET. */
export function authOptions(): NextAuthOptions {
  options ??= buildOptions();
  return options;
}
