import { DomainError } from "~/server/errors";
import { alternativeName } from "~/server/services/names";
import { isUniqueViolation } from "~/server/db/errors";
import type { Tx } from "./tree-tx";

// Placing an entry under a name that may be taken: "a.txt", then "a (1).txt", "a (2).txt", ... as
// uploads do (names.ts alternativeName). The unique key is the arbiter: a name grabbed by a
// concurrent insert makes our INSERT fail and the next free name is tried.

const MAX_SUFFIX = 10_000;

async function takenAlternatives(tx: Tx, ownerId: string, parentKey: string, name: string): Promise<Set<string>> {
  // Every alternativeName(name, n) ends with " (n)" + the extension; fetch the siblings that end
  // like that in one query and test candidates in memory.
  const sample = alternativeName(name, 1);
  const ext = sample.slice(sample.lastIndexOf(" (1)") + 4);
  const pattern = `% (%)${ext.replace(/[!%_]/g, (c) => `!${c}`)}`;
  const rows = await tx.$queryRaw<Array<{ activeName: string }>>`
    SELECT activeName FROM Entry
    WHERE ownerId = ${ownerId} AND parentKey = ${parentKey} AND activeName LIKE ${pattern} ESCAPE '!'`;
  return new Set(rows.map((r) => r.activeName));
}

/**
 * Runs `insert(name)` with `name`, then with free alternatives while it fails on the unique key.
 * `insert` must be a single statement, so a failed attempt leaves nothing behind.
 */
export async function insertWithFreeName<T>(
  tx: Tx,
  place: { ownerId: string; parentKey: string; name: string },
  insert: (name: string) => Promise<T>,
): Promise<T> {
  let candidate = place.name;
  let taken: Set<string> | null = null;
  for (let n = 1; ; ) {
    try {
      return await insert(candidate);
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
    taken = await takenAlternatives(tx, place.ownerId, place.parentKey, place.name);
    while (n <= MAX_SUFFIX && taken.has(alternativeName(place.name, n))) n++;
    if (n > MAX_SUFFIX) throw new DomainError("CONFLICT", `Too many entries named like "${place.name}" in this folder`);
    candidate = alternativeName(place.name, n);
    n++;
  }
}
