// What the command line prints: results on stdout (human text, or one JSON document with --json),
// progress and errors on stderr.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB" (binary units, as `ls -lh`). */
export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]}`;
}

export function humanRate(bytesPerSecond: number): string {
  return `${humanSize(Math.round(bytesPerSecond))}/s`;
}

/** "2026-11-23 14:05" in local time. */
export function humanDate(d: Date | string | null | undefined): string {
  if (!d) return "-";
  const date = new Date(d);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Left-aligned columns (the last one is not padded); `right` lists columns to right-align. */
export function table(rows: string[][], right: number[] = []): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          if (i === row.length - 1 && !right.includes(i)) return cell;
          const pad = " ".repeat((widths[i] ?? 0) - [...cell].length);
          return right.includes(i) ? pad + cell : cell + pad;
        })
        .join("  "),
    )
    .join("\n");
}

export interface Output {
  json: boolean;
  /** Progress and notices are shown (not with --json or --quiet). */
  chatty: boolean;
  /** A human line on stdout (nothing with --json). */
  line(text: string): void;
  /** The command's JSON result (only with --json). */
  result(value: unknown): void;
  /** A notice on stderr (progress-free runs, warnings). */
  note(text: string): void;
}

export function createOutput(opts: { json: boolean; quiet: boolean }): Output {
  return {
    json: opts.json,
    chatty: !opts.json && !opts.quiet,
    line(text) {
      if (!opts.json) process.stdout.write(`${text}\n`);
    },
    result(value) {
      if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    note(text) {
      if (!opts.json && !opts.quiet) process.stderr.write(`${text}\n`);
    },
  };
}
