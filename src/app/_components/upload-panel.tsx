"use client";

import { useRef, useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { formatBytes } from "./format";
import { Icon } from "./icons";
import { useUploads } from "./upload-context";
import { activeStates, type UploadRow, type useUploader } from "./uploads";

// The floating list of this page's uploads (a progress bar per file, cancel, retry, clear), and
// the notice about uploads left unfinished by an earlier visit.

const STATE_TEXT: Record<UploadRow["state"], string> = {
  queued: "Waiting…",
  hashing: "Checking",
  uploading: "Uploading",
  finishing: "Finishing…",
  done: "Uploaded",
  error: "Failed",
  cancelled: "Cancelled",
};

export function UploadPanel({ uploader }: { uploader: ReturnType<typeof useUploader> }) {
  const { rows } = uploader;
  if (rows.length === 0) return null;
  const active = rows.filter((r) => activeStates.has(r.state)).length;
  const finished = rows.some((r) => r.state === "done" || r.state === "cancelled");
  return (
    <section className="upload-panel card" aria-label="Uploads" data-testid="upload-panel">
      <header>
        <strong>{active > 0 ? `Uploading ${active} ${active === 1 ? "file" : "files"}` : "Uploads"}</strong>
        {finished && (
          <button type="button" className="link" onClick={uploader.clearFinished}>
            Clear finished
          </button>
        )}
      </header>
      <ul>
        {rows.map((row) => {
          const done = row.state === "hashing" ? (row.hashed ?? 0) : row.loaded;
          const pct = row.size > 0 ? Math.min(100, (done / row.size) * 100) : row.state === "done" ? 100 : 0;
          return (
            <li
              key={row.key}
              data-testid="upload-row"
              data-state={row.state}
              data-instant={row.instant ? "true" : undefined}
              className={`upload-row ${row.state}`}
            >
              <div className="upload-line">
                <span className="upload-name" title={row.name}>
                  {row.name}
                </span>
                {row.state === "error" && (
                  <button type="button" className="link" onClick={() => uploader.retry(row.key)}>
                    Retry
                  </button>
                )}
                {(activeStates.has(row.state) || row.state === "error") && (
                  <button
                    type="button"
                    className="icon-button"
                    title="Cancel upload"
                    aria-label={`Cancel upload of ${row.name}`}
                    onClick={() => uploader.cancel(row.key)}
                    data-testid="cancel-upload"
                  >
                    <Icon name="close" size={16} />
                  </button>
                )}
              </div>
              <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
                <div className="progress-fill" style={{ width: `${pct.toFixed(1)}%` }} />
              </div>
              <div className="upload-meta">
                {row.state === "error" ? (
                  <span className="field-error" role="alert" data-testid="upload-error">
                    {row.error}
                  </span>
                ) : (
                  <span data-testid="upload-status">
                    {row.state === "done" && row.instant ? "Instant upload (already on the server)" : STATE_TEXT[row.state]}
                    {row.state === "hashing" && ` · ${Math.floor(pct)}%`}
                    {row.state === "uploading" && ` · ${formatBytes(row.loaded)} of ${formatBytes(row.size)}`}
                    {row.state === "done" && ` · ${formatBytes(row.size)}`}
                    {row.resumedChunks && row.state !== "done" ? " · resumed" : ""}
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

type PendingSession = RouterOutputs["upload"]["pending"][number];

/**
 * Open upload sessions from earlier visits that this page is not running. Resume asks for the
 * file again (a page cannot reopen a file by itself); the same name, size and content sent to the
 * same folder continues the session where it stopped. Discard aborts it and frees its space.
 */
export function PendingUploads() {
  const uploads = useUploads();
  const utils = api.useUtils();
  const pendingQuery = api.upload.pending.useQuery(undefined, { staleTime: 60_000 });
  const abort = api.upload.abort.useMutation();
  const picker = useRef<HTMLInputElement>(null);
  const [resuming, setResuming] = useState<PendingSession | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const active = new Set(uploads.rows.map((r) => r.uploadId));
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
          uploads.add([file], resuming.parentId);
        }}
      />
    </section>
  );
}
