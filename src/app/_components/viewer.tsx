"use client";

import { useEffect, useRef, useState } from "react";
import { formatBytes } from "./format";
import { Icon } from "./icons";
import type { DriveEntry } from "./listing";
import { contentHref } from "./listing";
import { isRenderableMarkup, previewKind } from "./preview-kind";

// The file viewer: images, video and audio (the browser seeks with Range requests), PDF (the
// browser's own viewer in a frame) and text or code (the first TEXT_BYTES as plain text). Bytes
// come from /api/files/{id}/content?inline=1, which the server serves inline only for those safe
// types, with nosniff and a sandboxing CSP; HTML and SVG are shown as source. ← and → go to the
// previous and next file of the listing, Escape closes.

const TEXT_BYTES = 512 * 1024;

export function Viewer({ entry, files, onNavigate, onClose }: { entry: DriveEntry; files: DriveEntry[]; onNavigate: (entry: DriveEntry) => void; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const index = files.findIndex((f) => f.id === entry.id);
  const prev = index > 0 ? files[index - 1] : undefined;
  const next = index >= 0 && index < files.length - 1 ? files[index + 1] : undefined;

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLMediaElement) return; // the player's own arrow keys seek
      if (e.key === "ArrowLeft" && prev) onNavigate(prev);
      else if (e.key === "ArrowRight" && next) onNavigate(next);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [prev, next, onNavigate]);

  const src = `${contentHref(entry.id)}?inline=1`;
  const kind = previewKind(entry.mime, entry.name);
  return (
    <dialog
      ref={ref}
      className="viewer"
      aria-label={`Preview of ${entry.name}`}
      data-testid="viewer"
      data-kind={kind}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="viewer-bar">
        <span className="viewer-name" title={entry.name} data-testid="viewer-name">
          {entry.name}
        </span>
        <span className="viewer-size">{entry.size !== null ? formatBytes(entry.size) : ""}</span>
        <a className="icon-button" href={contentHref(entry.id)} download={entry.name} title="Download" aria-label="Download">
          <Icon name="download" />
        </a>
        <button type="button" className="icon-button" title="Close (Esc)" aria-label="Close preview" onClick={onClose} data-testid="viewer-close">
          <Icon name="close" />
        </button>
      </header>
      <div className="viewer-stage">
        {prev && (
          <button type="button" className="viewer-nav prev" aria-label="Previous file" title="Previous (←)" onClick={() => onNavigate(prev)}>
            <Icon name="chevronLeft" size={28} />
          </button>
        )}
        <div className="viewer-content" key={entry.id}>
          {kind === "image" && <img src={src} alt={entry.name} data-testid="viewer-image" />}
          {kind === "video" && <video src={src} controls autoPlay={false} preload="metadata" data-testid="viewer-video" />}
          {kind === "audio" && <audio src={src} controls preload="metadata" data-testid="viewer-audio" />}
          {kind === "pdf" && <iframe src={src} title={entry.name} data-testid="viewer-pdf" />}
          {kind === "text" && <TextPreview src={src} entry={entry} />}
          {kind === "none" && (
            <div className="viewer-none" data-testid="viewer-none">
              <Icon name="file" size={48} />
              <p>No preview for this kind of file.</p>
              <a className="button primary" href={contentHref(entry.id)} download={entry.name}>
                <Icon name="download" /> Download
              </a>
            </div>
          )}
        </div>
        {next && (
          <button type="button" className="viewer-nav next" aria-label="Next file" title="Next (→)" onClick={() => onNavigate(next)}>
            <Icon name="chevron" size={28} />
          </button>
        )}
      </div>
    </dialog>
  );
}

function TextPreview({ src, entry }: { src: string; entry: DriveEntry }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    fetch(src, { headers: { range: `bytes=0-${TEXT_BYTES - 1}` }, signal: controller.signal, credentials: "same-origin" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        setText(new TextDecoder("utf-8", { fatal: false }).decode(await response.arrayBuffer()));
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      });
    return () => controller.abort();
  }, [src]);
  if (error) return <p className="viewer-none">Could not load the text ({error}).</p>;
  if (text === null) return <p className="viewer-none">Loading…</p>;
  const truncated = (entry.size ?? 0) > TEXT_BYTES;
  return (
    <div className="viewer-text-wrap">
      {(isRenderableMarkup(entry.mime, entry.name) || truncated) && (
        <p className="viewer-note">
          {isRenderableMarkup(entry.mime, entry.name) && "Shown as source: pages and SVG images from your drive are never rendered here. "}
          {truncated && `Showing the first ${formatBytes(TEXT_BYTES)}.`}
        </p>
      )}
      <pre className="viewer-text" data-testid="viewer-text">
        {text}
      </pre>
    </div>
  );
}
