// Whether the drive can be reached. The browser's online/offline events say when the machine lost
// its network; a request that fails without an answer while the browser still claims to be online
// (Wi-Fi without internet, the server restarting) makes us probe the server ourselves. While the
// drive is unreachable uploads wait; when it answers again they continue by themselves.

/** Thrown by an upload step that failed because the drive cannot be reached; the job waits. */
export class OfflineError extends Error {
  constructor() {
    super("The drive cannot be reached");
  }
}

/** The liveness probe: answered by the web process itself, asking nothing of the database or broker. */
const PROBE_URL = "/api/health/live";
const PROBE_EVERY_MS = 3_000;
const PROBE_TIMEOUT_MS = 5_000;

export class Network {
  online = typeof navigator === "undefined" ? true : navigator.onLine;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onOfflineEvent = () => this.lost();
  private readonly onOnlineEvent = () => this.watch();

  constructor(
    private readonly onOffline: () => void,
    private readonly onOnline: () => void,
  ) {
    if (typeof window === "undefined") return;
    window.addEventListener("offline", this.onOfflineEvent);
    window.addEventListener("online", this.onOnlineEvent);
  }

  dispose(): void {
    if (typeof window !== "undefined") {
      window.removeEventListener("offline", this.onOfflineEvent);
      window.removeEventListener("online", this.onOnlineEvent);
    }
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** One small request to the drive: does it answer at all (whatever the status)? */
  async reachable(): Promise<boolean> {
    if (typeof navigator !== "undefined" && !navigator.onLine) return false;
    try {
      await fetch(PROBE_URL, { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return true;
    } catch {
      return false;
    }
  }

  /** A request failed without an answer: find out whether the drive is really gone. */
  suspect(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      void this.reachable().then((ok) => {
        this.timer = null;
        // Reachable after all: whatever failed is tried again, a little later (no tight loop).
        if (ok) this.onOnline();
        else this.lost();
      });
    }, PROBE_EVERY_MS);
  }

  private lost(): void {
    const was = this.online;
    this.online = false;
    if (was) this.onOffline();
    this.watch();
  }

  /** Probes until the drive answers, then says so. */
  private watch(): void {
    if (this.timer !== null) return;
    const tick = async () => {
      if (await this.reachable()) {
        this.timer = null;
        this.online = true;
        this.onOnline();
        return;
      }
      this.timer = setTimeout(() => void tick(), PROBE_EVERY_MS);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }
}
