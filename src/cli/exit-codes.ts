import { FilestoreError } from "../client/errors";

// Exit codes a script can act on (README "Command line"). One table; every failure maps through it.
export const EXIT = {
  OK: 0,
  /** Anything not below (a server error, a local file error). */
  ERROR: 1,
  /** Bad arguments or options, or an input the server refused as invalid. */
  USAGE: 2,
  /** Not signed in, the sign-in ended, wrong password, or not allowed. */
  AUTH: 3,
  NOT_FOUND: 4,
  /** A name already taken (see --on-conflict), or a file where a folder is needed. */
  CONFLICT: 5,
  /** The server could not be reached, or went away and did not come back within the retries. */
  NETWORK: 6,
  /** Over quota, or a file too large for the drive. */
  QUOTA: 7,
  /** Bytes whose SHA-256 is not the expected one, or a local file that changed while uploading. */
  INTEGRITY: 8,
  /** The server is throttling these requests; try again after the time it said. */
  RATE_LIMITED: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A usage error found by the CLI itself. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof UsageError) return EXIT.USAGE;
  if (!(e instanceof FilestoreError)) return EXIT.ERROR;
  switch (e.code) {
    case "BAD_REQUEST":
      return EXIT.USAGE;
    case "UNAUTHORIZED":
    case "FORBIDDEN":
      return EXIT.AUTH;
    case "NOT_FOUND":
      return EXIT.NOT_FOUND;
    case "CONFLICT":
      return EXIT.CONFLICT;
    case "NETWORK":
    case "SERVICE_UNAVAILABLE":
      return EXIT.NETWORK;
    case "PAYLOAD_TOO_LARGE":
      return EXIT.QUOTA;
    case "INTEGRITY":
    case "CHANGED":
      return EXIT.INTEGRITY;
    case "TOO_MANY_REQUESTS":
      return EXIT.RATE_LIMITED;
    default:
      return EXIT.ERROR;
  }
}

/** Of several failures (a tree transfer), the exit code of the most telling one. */
export function worstExit(codes: ExitCode[]): ExitCode {
  const order: ExitCode[] = [EXIT.AUTH, EXIT.NETWORK, EXIT.QUOTA, EXIT.INTEGRITY, EXIT.RATE_LIMITED, EXIT.CONFLICT, EXIT.NOT_FOUND, EXIT.USAGE, EXIT.ERROR];
  for (const code of order) if (codes.includes(code)) return code;
  return EXIT.OK;
}
