"use client";

import { memo, useCallback, useRef, useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { formatBytes } from "./format";
import { Icon } from "./icons";
import { useTransfers, useUploader } from "./upload-context";
import { runningStates, unfinishedStates, type TransferRow, type TransferState } from "./transfers/store";
import type { Uploader } from "./transfers/uploader";

// The transfers panel: one row per file and per folder of the page's uploads (folders fold open),
// with progress, speed and time left, pause/resume, retry and cancel per row and for everything.
// Only the rows in view are rendered, so a folder of thousands of files keeps the page responsive.
// Below it, PendingUploads: sessions an earlier visit left unfinished.

const STATE_TEXT: Record<TransferState, string> = {
  queued: "Waiting",
  hashing: "Checking",
  uploading: "Uploading",
  paused: "Paused",
  offline: "Waiting for the network",
  finishing: "Finishing…",
  done: "Uploaded",
  error: "Failed",
  cancelled: "Cancelled",
};

const ROW_HEIGHT = 64;
/** Rows rendered beyond the visible ones, above and below. */
const OVERSCAN = 6;

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m > 0 ? `${h} h ${m} min` : `${h} h`;
}

const rate = (bytesPerSecond: number) => `${formatBytes(bytesPerSecond)}/s`;

function statusText(row: TransferRow): string {
  if (row.state === "done") {
    if (row.kind === "folder") return row.files === 0 ? "Created · empty" : `Uploaded · ${row.files} ${row.files === 1 ? "file" : "files"} · ${formatBytes(row.size)}`;
    if (row.instant) return row.bytesSent === 0 ? `Instant — no bytes sent · ${formatBytes(row.size)}` : `Instant (already on the server) · ${formatBytes(row.size)}`;
    return `Uploaded · ${formatBytes(row.size)}`;
  }
  const parts = [STATE_TEXT[row.state]];
  if (row.state === "hashing" && row.size > 0) parts[0] += ` ${Math.floor((row.hashed / row.size) * 100)}%`;
  if (row.kind === "folder" && row.files > 0) parts.push(`${row.filesDone} of ${row.files} files`);
  if (row.state !== "cancelled" && (row.loaded > 0 || row.state === "uploading" || row.state === "paused")) {
    parts.push(`${formatBytes(row.loaded)} of ${formatBytes(row.size)}`);
  }
  if (runningStates.has(row.state) && row.speed > 0) parts.push(rate(row.speed));
  if (runningStates.has(row.state) && row.eta !== null) parts.push(`${formatDuration(row.eta)} left`);
  if (row.resumedChunks && row.kind === "file") parts.push("resumed");
  return parts.join(" · ");
}

export function TransfersPanel() {
  const uploader = useTransfers();
  const store = uploader.store;
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [minimised, setMinimised] = useState(false);
  const [scrollTop, setScrollTop] = useState(0);
  const toggle = useCallback((row: TransferRow) => {
    const flip = (set: ReadonlySet<string>) => {
      const next = new Set(set);
      if (!next.delete(row.key)) next.add(row.key);
      return next;
    };
    if (row.depth === 0) setCollapsed(flip);
    else setExpanded(flip);
  }, []);
  const top = store.children(null);
  if (top.length === 0) return null;

  // Top-level folders start open, deeper ones closed; the user's clicks win.
  const isOpen = (row: TransferRow) => (row.depth === 0 ? !collapsed.has(row.key) : expanded.has(row.key));
  const visible: TransferRow[] = [];
  const walk = (keys: readonly string[]) => {
    for (const key of keys) {
      const row = store.get(key)!;
      visible.push(row);
      if (row.kind === "folder" && isOpen(row)) walk(store.children(key));
    }
  };
  walk(top);

  const rows = top.map((key) => store.get(key)!);
  const files = rows.reduce((n, r) => n + (r.kind === "folder" ? r.files : 1), 0);
  const unfinished = rows.filter((r) => unfinishedStates.has(r.state));
  const moving = rows.filter((r) => runningStates.has(r.state));
  const speed = moving.reduce((s, r) => s + r.speed, 0);
  const left = unfinished.reduce((s, r) => s + (r.size - r.loaded), 0);
  const paused = rows.some((r) => r.state === "paused" || (r.kind === "folder" && r.state !== "done" && hasState(uploader, r.key, "paused")));
  const offline = rows.some((r) => r.state === "offline");
  const finished = rows.some((r) => r.state === "done" || r.state === "cancelled");
  const active = rows.some((r) => r.state === "queued" || runningStates.has(r.state) || r.state === "offline");
  const doneFiles = rows.reduce((n, r) => n + (r.kind === "folder" ? r.filesDone : r.state === "done" ? 1 : 0), 0);

  let title: string;
  if (offline && moving.length === 0) title = "Waiting for the network…";
  else if (active) title = `Uploading ${files - doneFiles} of ${files} ${files === 1 ? "file" : "files"}`;
  else if (paused) title = "Uploads paused";
  else title = "Uploads";
  const summary =
    active && speed > 0 ? `${rate(speed)} · ${formatDuration(left / speed)} left` : unfinished.length > 0 ? `${formatBytes(left)} left` : null;

  const viewport = Math.min(visible.length, 7) * ROW_HEIGHT;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(visible.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  return (
    <section className={minimised ? "upload-panel card minimised" : "upload-panel card"} aria-label="Transfers" data-testid="upload-panel">
      <header>
        <div className="panel-title">
          <strong data-testid="transfers-title">{title}</strong>
          {summary && (
            <span className="panel-summary" data-testid="transfers-summary">
              {summary}
            </span>
          )}
        </div>
        <div className="panel-actions">
          {active && (
            <button type="button" className="icon-button" title="Pause all" aria-label="Pause all" onClick={() => uploader.pauseAll()} data-testid="pause-all">
              <Icon name="pause" size={16} />
            </button>
          )}
          {paused && (
            <button type="button" className="icon-button" title="Resume all" aria-label="Resume all" onClick={() => uploader.resumeAll()} data-testid="resume-all">
              <Icon name="play" size={16} />
            </button>
          )}
          {finished && (
            <button type="button" className="link" onClick={() => uploader.clearFinished()}>
              Clear finished
            </button>
          )}
          <button
            type="button"
            className="icon-button"
            title={minimised ? "Show transfers" : "Hide transfers"}
            aria-label={minimised ? "Show transfers" : "Hide transfers"}
            aria-expanded={!minimised}
            onClick={() => setMinimised(!minimised)}
          >
            <Icon name={minimised ? "chevronLeft" : "chevronDown"} size={16} className={minimised ? "rotate-up" : undefined} />
          </button>
        </div>
      </header>
      {!minimised && (
        <div className="transfer-list" style={{ height: viewport }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} role="list">
          <div style={{ height: visible.length * ROW_HEIGHT, position: "relative" }}>
            {visible.slice(first, last).map((row, i) => (
              <TransferLine
                key={row.key}
                row={row}
                top={(first + i) * ROW_HEIGHT}
                open={row.kind === "folder" && isOpen(row)}
                foldable={row.kind === "folder" && store.children(row.key).length > 0}
                resumable={row.state === "paused" || (row.kind === "folder" && row.state !== "done" && hasState(uploader, row.key, "paused"))}
                uploader={uploader}
                onToggle={toggle}
              />
            ))}
          </div>
        </div>
      )}
    </section>
  );
}

/** Whether any file under a folder row is in `state`. */
function hasState(uploader: Uploader, key: string, state: TransferState): boolean {
  return uploader.store.children(key).some((child) => {
    const row = uploader.store.get(child);
    return row !== undefined && (row.state === state || (row.kind === "folder" && hasState(uploader, child, state)));
  });
}

const TransferLine = memo(function TransferLine({
  row,
  top,
  open,
  foldable,
  resumable,
  uploader,
  onToggle,
}: {
  row: TransferRow;
  top: number;
  open: boolean;
  foldable: boolean;
  resumable: boolean;
  uploader: Uploader;
  onToggle: (row: TransferRow) => void;
}) {
  const shown = row.state === "hashing" ? row.hashed : row.loaded;
  const pct = row.size > 0 ? Math.min(100, (shown / row.size) * 100) : row.state === "done" ? 100 : 0;
  const canPause = row.state === "queued" || runningStates.has(row.state) || row.state === "offline";
  const canResume = resumable;
  const canCancel = unfinishedStates.has(row.state) || row.state === "error";
  return (
    <div
      role="listitem"
      className={`upload-row ${row.state} ${row.kind}`}
      style={{ top, height: ROW_HEIGHT, paddingLeft: `${1 + row.depth * 1.1}rem` }}
      data-testid="upload-row"
      data-kind={row.kind}
      data-state={row.state}
      data-instant={row.instant ? "true" : undefined}
      data-sha256={row.sha256}
      data-bytes-sent={row.bytesSent}
    >
      <div className="upload-line">
        {foldable ? (
          <button
            type="button"
            className="icon-button fold"
            aria-label={open ? `Fold ${row.name}` : `Unfold ${row.name}`}
            aria-expanded={open}
            onClick={() => onToggle(row)}
            data-testid="toggle-folder"
          >
            <Icon name={open ? "chevronDown" : "chevron"} size={14} />
          </button>
        ) : row.kind === "folder" ? (
          <span className="fold-gap" />
        ) : null}
        <Icon name={row.kind === "folder" ? "folder" : "file"} size={16} className={`kind-icon ${row.kind}`} />
        <span className="upload-name" title={row.name}>
          {row.name}
        </span>
        {canPause && (
          <button type="button" className="icon-button" title="Pause" aria-label={`Pause ${row.name}`} onClick={() => uploader.pause(row.key)} data-testid="pause-upload">
            <Icon name="pause" size={15} />
          </button>
        )}
        {canResume && (
          <button type="button" className="icon-button" title="Resume" aria-label={`Resume ${row.name}`} onClick={() => uploader.resume(row.key)} data-testid="resume-transfer">
            <Icon name="play" size={15} />
          </button>
        )}
        {row.state === "error" && (
          <button type="button" className="icon-button" title="Retry" aria-label={`Retry ${row.name}`} onClick={() => uploader.retry(row.key)} data-testid="retry-upload">
            <Icon name="retry" size={15} />
          </button>
        )}
        {canCancel && (
          <button
            type="button"
            className="icon-button"
            title="Cancel"
            aria-label={`Cancel upload of ${row.name}`}
            onClick={() => uploader.cancel(row.key)}
            data-testid="cancel-upload"
          >
            <Icon name="close" size={15} />
          </button>
        )}
      </div>
      <div className="progress" role="progressbar" aria-label={`${row.name} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
        <div className="progress-fill" style={{ width: `${pct.toFixed(1)}%` }} />
      </div>
      <div className="upload-meta">
        {row.state === "error" ? (
          <span className="field-error" role="alert" data-testid="upload-error" title={row.error}>
            {row.error}
          </span>
        ) : (
          <span data-testid="upload-status">{statusText(row)}</span>
        )}
      </div>
    </div>
  );
});

type PendingSession = RouterOutputs["upload"]["pending"][number];

/**
 * Open upload sessions from earlier visits that this page is not running. Resume asks for the
 * file again (a page cannot reopen a file by itself); the same name, size and content sent to the
 * same folder continues the session where it stopped. Discard aborts it and frees its space.
 */
export function PendingUploads() {
  const uploader = useTransfers();
  const utils = api.useUtils();
  const pendingQuery = api.upload.pending.useQuery(undefined, { staleTime: 60_000 });
  const abort = api.upload.abort.useMutation();
  const picker = useRef<HTMLInputElement>(null);
  const [resuming, setResuming] = useState<PendingSession | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const active = new Set(uploader.store.all().map((r) => r.uploadId));
  const stale = (pendingQuery.data ?? []).filter((s) => !active.has(s.uploadId));
  if (stale.length === 0) return null;

  const discard = async (sessions: PendingSession[]) => {
    await Promise.allSettled(sessions.map((s) => abort.mutateAsync({ uploadId: s.uploadId })));
    void utils.upload.pending.invalidate();
    void utils.user.me.invalidate();
  };

  return (
    <section className="notice info pending-uploads" data-testid="pending-uploads" aria-label="Unfinished uploads">
      <p>
        {stale.length === 1 ? "1 upload" : `${stale.length} uploads`} did not finish. Pick the same file again to resume where it
        stopped.
      </p>
      <ul>
        {stale.map((s) => (
          <li key={s.uploadId} data-testid="pending-upload">
            <span className="upload-name" title={s.name}>
              {s.name}
            </span>
            <span className="muted-inline">
              {formatBytes(Math.min(s.size, s.receivedCount * s.chunkSize))} of {formatBytes(s.size)}
            </span>
            <button
              type="button"
              className="link"
              onClick={() => {
                setProblem(null);
                setResuming(s);
                picker.current?.click();
              }}
              data-testid="resume-upload"
            >
              Resume
            </button>
            <button type="button" className="link" disabled={abort.isPending} onClick={() => void discard([s])}>
              Discard
            </button>
          </li>
        ))}
      </ul>
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      <input
        ref={picker}
        type="file"
        hidden
        data-testid="resume-input"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = "";
          if (!file || !resuming) return;
          if (file.name !== resuming.name || file.size !== resuming.size) {
            setProblem(`That is not “${resuming.name}” (${formatBytes(resuming.size)}). Pick that file to resume it.`);
            return;
          }
          uploader.addFiles([file], resuming.parentId);
        }}
      />
    </section>
  );
}

/** For components that only start uploads. */
export { useUploader };
