import mariadb, { type Pool, type PoolConfig } from "mariadb";

// The MariaDB connection pools behind the Prisma clients, created here (instead of inside the
// adapter) so /api/metrics can report how full each one is. The adapter is handed the pool and
// leaves its lifetime to us (closePools at shutdown).
//
// A pool opens its connections when it is created, so each one is created on first use, as the
// adapter did: importing the db module (next build does) must not connect.

interface Registered {
  pool: () => Pool | null;
  limit: number;
}

const holder = globalThis as unknown as { filestorePools?: Map<string, Registered> };
const pools = (holder.filestorePools ??= new Map());

/** A pool for `config`, registered under `label` ("primary", "replica-1", ...), opened on first use. */
export function createPool(label: string, config: PoolConfig): Pool {
  let real: Pool | null = null;
  // What the adapter applies to pools it creates itself: no server-side prepared-statement cache.
  // minimumIdle 1: connections open as load needs them (and stay open for idleTimeout) instead of
  // all DATABASE_POOL_SIZE at once; with many web instances and workers (and two pools per web
  // process: the custom server's and Next's bundle's) an idle deployment would otherwise hold
  // max_connections' worth of idle connections.
  const open = () => (real ??= mariadb.createPool({ prepareCacheLength: 0, minimumIdle: 1, ...config }));
  const lazy = new Proxy({} as Pool, {
    get(_target, prop) {
      // The adapter only checks that this looks like a pool; that must not open it.
      if (prop === "getConnection" && !real) return (...args: []) => open().getConnection(...args);
      const pool = open();
      const value: unknown = Reflect.get(pool, prop, pool);
      return typeof value === "function" ? value.bind(pool) : value;
    },
  });
  let name = label;
  for (let i = 2; pools.has(name); i++) name = `${label}-${i}`;
  pools.set(name, { pool: () => real, limit: config.connectionLimit ?? 10 });
  return lazy;
}

export interface PoolUse {
  pool: string;
  active: number;
  idle: number;
  total: number;
  limit: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export function poolUse(): PoolUse[] {
  return [...pools].map(([name, { pool, limit }]) => {
    const p = pool();
    return {
      pool: name,
      active: p?.activeConnections() ?? 0,
      idle: p?.idleConnections() ?? 0,
      total: p?.totalConnections() ?? 0,
      limit,
      waiting: p?.taskQueueSize() ?? 0,
    };
  });
}

/** Ends every pool (web and worker shutdown, after the last query). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map(({ pool }) => pool()?.end()));
}
