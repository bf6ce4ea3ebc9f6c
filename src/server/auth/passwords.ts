import { hash, verify } from "@node-rs/argon2";

// argon2id (the package default) with OWASP's baseline cost: 19 MiB, 2 passes, 1 lane.
const options = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // a malformed stored hash never matches
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as a real verification, for unknown usernames: a sign-in must not reveal
 * whether an account exists by answering faster.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("filestore-dummy-password-for-timing");
  await verifyPassword(await dummyHash, password);
  return false;
}
