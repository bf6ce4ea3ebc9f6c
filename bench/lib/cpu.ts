import { readFile } from "node:fs/promises";

// CPU time of server processes, from /proc/<pid>/stat (utime + stime, clock ticks of 1/100 s on
// Linux), read before and after each measured upload.

const TICKS_PER_SECOND = 100;

/** User and system CPU seconds the process has used so far. */
export async function cpuSeconds(pid: number): Promise<{ user: number; sys: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command name: state is field 3, utime 14 and stime 15 (man 5 proc).
  return { user: Number(fields[11]) / TICKS_PER_SECOND, sys: Number(fields[12]) / TICKS_PER_SECOND };
}

export interface Measured {
  ms: number;
  /** CPU seconds of the server process during the run (user + system). */
  serverCpu: number;
  /** Of which system time: the kernel's work for the process (writes into the page cache, writeback, fsync). */
  serverSys: number;
  /** CPU seconds of this (client) process during the run. */
  clientCpu: number;
}

/** Runs `fn` (one upload) and measures its wall time, the server's CPU and the client's CPU. */
export async function measure(serverPid: number, fn: () => Promise<void>): Promise<Measured> {
  const cpu0 = await cpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  const client = process.cpuUsage(client0);
  const cpu1 = await cpuSeconds(serverPid);
  const sys = cpu1.sys - cpu0.sys;
  return { ms, serverCpu: cpu1.user - cpu0.user + sys, serverSys: sys, clientCpu: (client.user + client.system) / 1e6 };
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median MB/s, server CPU s/GiB and client CPU s/GiB of several runs of `bytes` each. */
export function summarise(bytes: number, runs: Measured[]) {
  const mbps = runs.map((r) => bytes / MiB / (r.ms / 1000));
  const cpu = runs.map((r) => r.serverCpu / (bytes / GiB));
  const client = runs.map((r) => r.clientCpu / (bytes / GiB));
  const user = runs.map((r) => (r.serverCpu - r.serverSys) / (bytes / GiB));
  return { mbps: median(mbps), cpuPerGiB: median(cpu), userPerGiB: median(user), clientCpuPerGiB: median(client), all: { mbps, cpu, user } };
}

export type Summary = ReturnType<typeof summarise>;

/**
 * One result line: `label  MB/s  server CPU s/GiB (of which user)  client CPU s/GiB  (each run)`.
 * User time is the server's own work; system time also carries the kernel's page-cache and writeback
 * work, which varies with what the disk is doing (it grows over a run for every server, the bare
 * baseline too).
 */
export function line(label: string, s: Summary, width = 46): string {
  const runs = s.all.mbps.map((m, i) => `${m.toFixed(0)}/${s.all.cpu[i]!.toFixed(2)}/${s.all.user[i]!.toFixed(2)}`).join(", ");
  return `${label.padEnd(width)} ${s.mbps.toFixed(0).padStart(5)} MB/s  ${s.cpuPerGiB.toFixed(2).padStart(6)} CPU s/GiB (user ${s.userPerGiB.toFixed(2)})  client ${s.clientCpuPerGiB.toFixed(2)}  (runs MB/s/CPU/user: ${runs})`;
}
