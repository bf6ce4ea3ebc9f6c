"use client";

/** A list that failed to load: what could not be loaded, and a retry. */
export function LoadError({ what, onRetry }: { what: string; onRetry: () => void }) {
  return (
    <div className="notice error" role="alert">
      Could not load {what}.{" "}
      <button type="button" className="link" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}
