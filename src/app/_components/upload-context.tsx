"use client";

import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { api } from "~/trpc/react";
import { createUploadClient } from "./transfers/client";
import { createHashPool } from "./transfers/hash-pool";
import { unfinishedStates } from "./transfers/store";
import { Uploader } from "./transfers/uploader";

// The page's uploads live above the pages (in the root layout), so moving between My drive,
// Shared links and Trash does not cut them off; only leaving the site does, and that asks first.

const UploaderContext = createContext<Uploader | null>(null);

/** Hashing workers: one per spare core, at most two (reading the file is the other half of the work). */
const hashWorkers = () => (typeof navigator === "undefined" ? 1 : Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1)));

export function UploadsProvider({ children }: { children: ReactNode }) {
  const utils = api.useUtils();
  const [uploader] = useState(() => {
    const grants = new Map<string, string>();
    return new Uploader({
      client: createUploadClient(grants),
      grants,
      // The worker is created on first use, in the browser only.
      hashPool: createHashPool(() => new Worker(new URL("./transfers/hash.worker.ts", import.meta.url), { type: "module" }), hashWorkers()),
      onCommitted: () => {
        void utils.file.list.invalidate();
        void utils.user.me.invalidate();
        void utils.upload.pending.invalidate();
      },
    });
  });

  // Closing the tab mid-upload loses the chunks in flight (the sessions stay open to resume).
  const version = useSyncExternalStore(uploader.store.subscribe, uploader.store.getVersion, () => 0);
  const busy = version > 0 && uploader.store.all().some((r) => r.kind === "file" && unfinishedStates.has(r.state));
  useEffect(() => {
    if (!busy) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [busy]);

  return <UploaderContext.Provider value={uploader}>{children}</UploaderContext.Provider>;
}

/** The page's uploader; stable for the life of the page (starting uploads does not re-render). */
export function useUploader(): Uploader {
  const uploader = useContext(UploaderContext);
  if (!uploader) throw new Error("useUploader() outside <UploadsProvider>");
  return uploader;
}

/** The uploader, re-rendering the caller whenever the transfers change (a few times a second at most). */
export function useTransfers(): Uploader {
  const uploader = useUploader();
  useSyncExternalStore(uploader.store.subscribe, uploader.store.getVersion, () => 0);
  return uploader;
}
