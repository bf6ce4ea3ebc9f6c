// Where the web process is in its life: serving, or draining after SIGTERM. Readiness
// (GET /api/health) answers 503 while draining, so a balancer stops sending new work before the
// listener closes; liveness (GET /api/health/live) stays 200 until the process exits.
// Kept on globalThis: the custom server and Next's compiled route bundle are separate module copies.

const holder = globalThis as unknown as { filestoreDrainingSince?: number };

export function markDraining(): void {
  holder.filestoreDrainingSince ??= Date.now();
}

export function isDraining(): boolean {
  return holder.filestoreDrainingSince !== undefined;
}
