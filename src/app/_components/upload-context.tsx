"use client";

import { createContext, useContext, useEffect, type ReactNode } from "react";
import { activeStates, useUploader } from "./uploads";

// The page's uploads live above the pages (in the root layout), so moving between My drive,
// Shared links and Trash does not cut them off; only leaving the site does, and that asks first.

export type Uploads = ReturnType<typeof useUploader>;

const UploadsContext = createContext<Uploads | null>(null);
// `add` alone, which stays the same while the rows change on every progress event: the drive page
// starts uploads through it without re-rendering its listing all through an upload.
const AddUploadsContext = createContext<Uploads["add"] | null>(null);

export function UploadsProvider({ children }: { children: ReactNode }) {
  const uploads = useUploader();

  // Closing the tab mid-upload loses the in-flight chunks (the session stays open to resume).
  const busy = uploads.rows.some((r) => activeStates.has(r.state));
  useEffect(() => {
    if (!busy) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [busy]);

  return (
    <AddUploadsContext.Provider value={uploads.add}>
      <UploadsContext.Provider value={uploads}>{children}</UploadsContext.Provider>
    </AddUploadsContext.Provider>
  );
}

export function useUploads(): Uploads {
  const uploads = useContext(UploadsContext);
  if (!uploads) throw new Error("useUploads() outside <UploadsProvider>");
  return uploads;
}

/** `useUploads().add`, for a component that starts uploads but does not show them. */
export function useAddUploads(): Uploads["add"] {
  const add = useContext(AddUploadsContext);
  if (!add) throw new Error("useAddUploads() outside <UploadsProvider>");
  return add;
}
