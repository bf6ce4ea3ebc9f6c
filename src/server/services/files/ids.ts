import { randomBytes } from "node:crypto";

// Ids for rows created in bulk (copies), where the parent-child links are wired before insertion
// and Prisma's own cuid() default cannot be used. Same shape as a cuid: "c", the time in base 36,
// then 96 random bits in base 36; at most 29 characters, fits VARCHAR(32), roughly time-ordered.

export function newEntryId(): string {
  const time = Date.now().toString(36).padStart(9, "0");
  const random = BigInt(`0x${randomBytes(12).toString("hex")}`).toString(36).padStart(19, "0");
  return `c${time}${random}`;
}
