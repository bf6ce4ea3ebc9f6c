import { takeClaim, type Claim } from "../claims";

// One writer per tus upload: a PATCH holds the upload's claim (../claims.ts, index -1 for the whole
// upload; chunked uploads claim per chunk) while its body streams. A second PATCH meanwhile is
// CONFLICT (409, tus clients retry after a HEAD). Every recording of progress checks the claim is
// still ours (session.ts recordProgress), so a writer that lost it records nothing.

export const TUS_LOCK_INDEX = -1;

export type TusLock = Claim;

export function lockUpload(sessionId: string): Promise<TusLock> {
  return takeClaim(sessionId, TUS_LOCK_INDEX, "Another request is writing to this upload");
}
