// Turning tRPC and raw-route errors into sentences a person can act on.

/** The tRPC error code of a failed call (`data.code`), or null. */
export function errorCode(error: unknown): string | null {
  const code = (error as { data?: { code?: unknown } } | null)?.data?.code;
  return typeof code === "string" ? code : null;
}

const GENERIC: Record<string, string> = {
  UNAUTHORIZED: "You have been signed out. Sign in again to continue.",
  FORBIDDEN: "You are not allowed to do that.",
  NOT_FOUND: "It no longer exists (deleted or moved to the trash?).",
  CONFLICT: "A file or folder with that name already exists.",
  PAYLOAD_TOO_LARGE: "Not enough space in your drive.",
  TOO_MANY_REQUESTS: "Too many requests. Wait a moment and try again.",
  PRECONDITION_FAILED: "The upload is incomplete. Try again.",
};

/** A sentence for a failed call; `overrides` wins per code. */
export function errorMessage(error: unknown, overrides: Partial<Record<string, string>> = {}): string {
  const code = errorCode(error);
  if (code && overrides[code]) return overrides[code];
  if (code === "BAD_REQUEST") {
    const zod = (error as { data?: { zodError?: { fieldErrors?: Record<string, string[] | undefined>; formErrors?: string[] } | null } }).data
      ?.zodError;
    const first = Object.values(zod?.fieldErrors ?? {}).find((m) => m && m.length > 0)?.[0] ?? zod?.formErrors?.[0];
    if (first) return first;
    const message = (error as { message?: unknown }).message;
    return typeof message === "string" && message ? message : "That was not accepted.";
  }
  if (code && GENERIC[code]) return GENERIC[code];
  if (error instanceof TypeError) return "Network error: check your connection and try again.";
  return "Something went wrong. Please try again.";
}

/** Names the server accepts (API.md): 1-255 characters, no '/', no NUL, not '.' or '..'. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "Enter a name.";
  if (name.length > 255) return "Names are at most 255 characters.";
  if (name.includes("/") || name.includes("\0")) return "Names cannot contain '/'.";
  if (name === "." || name === "..") return "That name is reserved.";
  return null;
}
