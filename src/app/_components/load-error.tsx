"use client";

/** A list that failed to load: what could not be loaded, and a retry. */
export function LoadError({ what, onRetry, testId }: { what: string; onRetry: () => void; testId?: string }) {
  return (
    <div className="notice error" role="alert" data-testid={testId}>
      Could not load {what}.{" "}
      <button type="button" className="link" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}
