import { z } from "zod";
import { DomainError } from "~/server/errors";

// Entry names: 1-255 characters, no "/", no NUL, not "." or ".." (API.md). Unique per folder, case
// sensitive (the column is utf8mb4_bin). Lengths count characters as MariaDB does (code points).

export const MAX_NAME_LENGTH = 255;

export function nameProblem(name: string): string | null {
  const length = [...name].length;
  if (length < 1) return "Name must not be empty";
  if (length > MAX_NAME_LENGTH) return `Name must be at most ${MAX_NAME_LENGTH} characters`;
  if (name.includes("/")) return 'Name must not contain "/"';
  if (name.includes("\0")) return "Name must not contain NUL";
  if (name === "." || name === "..") return 'Name must not be "." or ".."';
  if (/[\u0000-\u001f\u007f]/.test(name)) return "Name must not contain control characters";
  return null;
}

/** zod schema for names in procedure inputs (BAD_REQUEST with zod issues). */
export const entryName = z.string().superRefine((name, ctx) => {
  const problem = nameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export function assertValidName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw new DomainError("BAD_REQUEST", problem);
  return name;
}

/**
 * The n-th alternative for a clashing name: "report.pdf" → "report (1).pdf". As in Nextcloud and
 * Windows only the last extension is kept apart ("a.tar.gz" → "a.tar (1).gz"), and a dotfile
 * (".bashrc") has none. The stem is truncated so the result stays within 255 characters.
 */
export function alternativeName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExt = dot > 0 && dot < name.length - 1;
  const stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})`;
  const room = MAX_NAME_LENGTH - [...suffix].length - [...ext].length;
  const stemChars = [...stem];
  const keptStem = stemChars.length > room ? stemChars.slice(0, Math.max(room, 1)).join("") : stem;
  return `${keptStem}${suffix}${ext}`;
}
