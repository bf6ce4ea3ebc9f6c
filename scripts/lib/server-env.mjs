// The environment the drive's server processes start with (npm start, and the benchmarks' servers,
// which must measure the same thing).
//
// MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (libuv's pool does, for file I/O and
// hashing) an arena of its own and rarely returns their freed pages, so streaming uploads left the
// resident set ~60 MiB above what the process uses. Measured with bench/upload-memory.ts
// (8 concurrent 1 GiB uploads): peak RSS 290–314 MiB without, 252 MiB with, same throughput.
// An operator's own MALLOC_ARENA_MAX wins.
export function serverEnv(env = process.env) {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? "2" };
}
