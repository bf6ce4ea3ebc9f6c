// MariaDB GTID positions ("domain-server-seq" triples, comma-separated, at most one per domain),
// as @@gtid_binlog_pos on a primary and @@gtid_slave_pos on a replica print them. A position P is
// reached on a replica when, for every domain of P, the replica applied a seq at least P's.

export type GtidPosition = Map<number, { server: number; seq: bigint }>;

const TRIPLE = /^(\d+)-(\d+)-(\d+)$/;

/** Parses a position; empty text is the empty position. Throws on anything that is not GTIDs. */
export function parseGtid(text: string | null | undefined): GtidPosition {
  const pos: GtidPosition = new Map();
  for (const part of (text ?? "").split(",")) {
    const triple = part.trim();
    if (!triple) continue;
    const m = TRIPLE.exec(triple);
    if (!m) throw new Error(`not a GTID position: ${JSON.stringify(text)}`);
    const domain = Number(m[1]);
    const seq = BigInt(m[3]!);
    const had = pos.get(domain);
    if (!had || had.seq < seq) pos.set(domain, { server: Number(m[2]), seq });
  }
  return pos;
}

export function formatGtid(pos: GtidPosition): string {
  return [...pos].sort(([a], [b]) => a - b).map(([domain, { server, seq }]) => `${domain}-${server}-${seq}`).join(",");
}

/** Whether `applied` includes everything of `wanted`. */
export function gtidReached(applied: GtidPosition, wanted: GtidPosition): boolean {
  for (const [domain, { seq }] of wanted) {
    const have = applied.get(domain);
    if (!have || have.seq < seq) return false;
  }
  return true;
}

/** Transactions `applied` still lacks to reach `wanted`, summed over domains. */
export function gtidDistance(applied: GtidPosition, wanted: GtidPosition): number {
  let behind = 0n;
  for (const [domain, { seq }] of wanted) {
    const have = applied.get(domain)?.seq ?? 0n;
    if (have < seq) behind += seq - have;
  }
  return Number(behind);
}

/** The later of two positions, domain by domain. */
export function gtidMax(a: GtidPosition, b: GtidPosition): GtidPosition {
  const out: GtidPosition = new Map(a);
  for (const [domain, v] of b) {
    const had = out.get(domain);
    if (!had || had.seq < v.seq) out.set(domain, v);
  }
  return out;
}
