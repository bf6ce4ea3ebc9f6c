import cliProgress from "cli-progress";
import { humanDuration, humanRate, humanSize } from "./output";

// Transfer progress on stderr. On a terminal: cli-progress bars, one per file in flight plus a
// total, each with speed and ETA. Elsewhere (a pipe, a log, CI): a plain line when each file
// finishes, and the total at the end. Nothing with --json or --quiet.

export interface FileProgress {
  /** `done` bytes of this file's `total` (the phase says what the bytes are: hashing, uploading …). */
  update(done: number, phase?: string): void;
  /** The file is finished; `summary` says how (e.g. "uploaded", "秒传", "up to date"); `moved`: bytes went over the wire. */
  finish(summary: string, moved?: boolean): void;
  fail(message: string): void;
}

export interface Progress {
  file(label: string, total: number): FileProgress;
  /** Grows the total (files found while walking a tree). */
  addTotal(bytes: number): void;
  stop(): void;
}

/** Speed over the last few seconds (a sliding window of samples). */
class Speed {
  private samples: Array<{ t: number; bytes: number }> = [];
  constructor(private readonly windowMs = 5000) {}
  add(bytes: number): number {
    const t = Date.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt >= 1 ? Math.max(0, bytes - first.bytes) / dt : 0;
  }
}

const fit = (label: string, width: number) => {
  const chars = [...label];
  return chars.length <= width ? label.padEnd(width) : `…${chars.slice(chars.length - width + 1).join("")}`;
};

function eta(remaining: number, rate: number): string {
  const seconds = remaining / rate;
  if (rate <= 0 || !Number.isFinite(seconds) || seconds > 99 * 3600) return "--";
  return humanDuration(seconds * 1000);
}

export function createProgress(opts: { enabled: boolean; tty: boolean; verb: string }): Progress {
  if (!opts.enabled) {
    const quiet: FileProgress = { update() {}, finish() {}, fail() {} };
    return { file: () => quiet, addTotal() {}, stop() {} };
  }
  return opts.tty ? barProgress(opts.verb) : lineProgress(opts.verb);
}

function lineProgress(verb: string): Progress {
  const started = Date.now();
  let total = 0;
  let finished = 0;
  return {
    addTotal(bytes) {
      total += bytes;
    },
    file(label, size) {
      const t0 = Date.now();
      return {
        update() {},
        finish(summary, moved = true) {
          finished += size;
          const ms = Date.now() - t0;
          const rate = moved ? ` in ${humanDuration(ms)}, ${humanRate(size / Math.max(ms / 1000, 0.001))}` : "";
          process.stderr.write(`${summary} ${label} (${humanSize(size)}${rate})\n`);
        },
        fail(message) {
          process.stderr.write(`failed ${label}: ${message}\n`);
        },
      };
    },
    stop() {
      const ms = Date.now() - started;
      if (total > 0) process.stderr.write(`${verb} ${humanSize(finished)} of ${humanSize(total)} in ${humanDuration(ms)}\n`);
    },
  };
}

function barProgress(verb: string): Progress {
  const width = Math.max(20, Math.min(40, (process.stderr.columns ?? 100) - 70));
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: `{label} {bar} {percentage}% {done}/{size} {rate} ETA {remaining}`,
      barsize: width,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      autopadding: true,
      fps: 8,
      barCompleteChar: "█",
      barIncompleteChar: "░",
    },
    cliProgress.Presets.shades_classic,
  );
  // Ctrl-C: give the terminal its cursor back (the bars hide it); the upload resumes next time.
  const onSigint = () => {
    multi.stop();
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  let total = 0;
  let totalDone = 0;
  const totalSpeed = new Speed();
  const payload = (label: string, done: number, size: number, rate: number) => ({
    label: fit(label, 28),
    done: humanSize(done),
    size: humanSize(size),
    rate: humanRate(rate).padStart(11),
    remaining: eta(size - done, rate),
  });
  const totalBar = multi.create(1, 0, payload(`${verb} (total)`, 0, 0, 0));
  const refreshTotal = () => {
    const rate = totalSpeed.add(totalDone);
    totalBar.setTotal(Math.max(total, 1));
    totalBar.update(Math.min(totalDone, total), payload(`${verb} (total)`, totalDone, total, rate));
  };
  return {
    addTotal(bytes) {
      total += bytes;
      refreshTotal();
    },
    file(label, size) {
      const bar = multi.create(Math.max(size, 1), 0, payload(label, 0, size, 0));
      let speed = new Speed();
      let shownPhase: string | undefined;
      let last = 0;
      let closed = false;
      const close = (line: string) => {
        if (closed) return;
        closed = true;
        multi.remove(bar);
        multi.log(`${line}\n`);
      };
      const t0 = Date.now();
      return {
        update(done, phase) {
          if (phase === "uploading" || phase === "downloading" || phase === undefined) {
            totalDone += done - last;
            last = done;
            refreshTotal();
          }
          // Hashing, then sending: each phase has its own speed.
          if (phase !== shownPhase) {
            speed = new Speed();
            shownPhase = phase;
          }
          const rate = speed.add(done);
          bar.update(Math.min(done, size), payload(phase && phase !== "uploading" && phase !== "downloading" ? `${label} (${phase})` : label, done, size, rate));
        },
        finish(summary, moved = true) {
          totalDone += size - last;
          last = size;
          refreshTotal();
          const ms = Date.now() - t0;
          close(`${summary} ${label} (${humanSize(size)}${moved ? `, ${humanRate(size / Math.max(ms / 1000, 0.001))}` : ""})`);
        },
        fail(message) {
          close(`failed ${label}: ${message}`);
        },
      };
    },
    stop() {
      process.off("SIGINT", onSigint);
      refreshTotal();
      multi.update(); // draws the lines logged since the last frame
      multi.stop();
    },
  };
}
