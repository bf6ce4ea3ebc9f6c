import { randomBytes, randomInt } from "node:crypto";
import { CHALLENGE_TTL_MS } from "./limits";

// 秒传 proof of possession. Knowing a file's SHA-256 must not be enough to get it, so the server
// asks for the SHA-256 of a fresh, random selection of the file's bytes: 8-16 ranges of 4-64 KiB at
// random offsets, in random order. A file smaller than a range is asked for several times over, so
// the answer is never the SHA-256 of the whole file (which the asker already knows). Files that
// small have little entropy: their hash may give them away whatever we do.

export type ChallengeRange = {
  offset: number;
  length: number;
};

export interface Challenge {
  challengeId: string;
  ranges: ChallengeRange[];
  /** Columns of UploadSession that store it. */
  columns: { challengeId: string; challengeRanges: ChallengeRange[]; challengeExpires: Date };
}

const MIN_RANGE = 4 * 1024;
const MAX_RANGE = 64 * 1024;

export function chooseRanges(size: number): ChallengeRange[] {
  if (size === 0) return [];
  const count = randomInt(8, 17);
  const ranges: ChallengeRange[] = [];
  for (let i = 0; i < count; i++) {
    const low = Math.min(size, MIN_RANGE);
    const high = Math.min(size, MAX_RANGE);
    const length = low === high ? low : randomInt(low, high + 1);
    const offset = randomInt(0, size - length + 1);
    ranges.push({ offset, length });
  }
  return ranges;
}

export function issueChallenge(size: number): Challenge {
  const challengeId = randomBytes(16).toString("base64url");
  const ranges = chooseRanges(size);
  return {
    challengeId,
    ranges,
    columns: { challengeId, challengeRanges: ranges, challengeExpires: new Date(Date.now() + CHALLENGE_TTL_MS) },
  };
}

export function parseRanges(value: unknown): ChallengeRange[] | null {
  if (!Array.isArray(value)) return null;
  const out: ChallengeRange[] = [];
  for (const r of value) {
    if (!r || typeof r !== "object") return null;
    const { offset, length } = r as Record<string, unknown>;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return null;
    out.push({ offset: offset as number, length: length as number });
  }
  return out;
}
