import { TRPCError } from "@trpc/server";
import { expect } from "vitest";

/** Awaits `promise` and asserts it failed with this tRPC error code. */
export async function expectTrpcError(promise: Promise<unknown>, code: TRPCError["code"]): Promise<TRPCError> {
  let error: unknown = null;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}, got success`).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code).toBe(code);
  return error as TRPCError;
}
