"use client";

import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { formatBytes, formatDate } from "~/app/_components/format";
import styles from "../share.module.css";

// What a share link shows: a file (name, size, download), or a folder to browse and download from,
// behind a password prompt when the link has one. Signed-in visitors can also save it to their drive.

type Opened = RouterOutputs["share"]["open"];
type Item = NonNullable<Opened["items"]>[number];

type State =
  | { kind: "loading" }
  | { kind: "password"; error: string | null }
  | { kind: "gone"; message: string }
  | { kind: "open"; view: Opened; items: Item[] };

function errorInfo(e: unknown): { code: string | undefined; message: string } {
  const err = e as { data?: { code?: string }; message?: string } | null;
  return { code: err?.data?.code, message: err?.message ?? "Something went wrong" };
}

export function contentHref(token: string, id?: string): string {
  return `/api/s/${encodeURIComponent(token)}/content${id ? `?id=${encodeURIComponent(id)}` : ""}`;
}

export function ShareView({ token }: { token: string }) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [folderId, setFolderId] = useState<string | null>(null);
  const open = api.share.open.useMutation();
  const openShare = open.mutateAsync; // stable across renders

  const load = useCallback(
    async (opts: { parentId?: string | null; password?: string; cursor?: string | null } = {}) => {
      try {
        const view = await openShare({ token, parentId: opts.parentId ?? undefined, password: opts.password, cursor: opts.cursor });
        setState((prev) =>
          opts.cursor && prev.kind === "open"
            ? { kind: "open", view, items: [...prev.items, ...(view.items ?? [])] }
            : { kind: "open", view, items: view.items ?? [] },
        );
      } catch (e) {
        const { code, message } = errorInfo(e);
        if (code === "FORBIDDEN") setState({ kind: "password", error: opts.password ? message : null });
        else if (code === "TOO_MANY_REQUESTS") setState({ kind: "password", error: message });
        else if (code === "NOT_FOUND") setState({ kind: "gone", message: "This link does not exist or has expired." });
        else setState({ kind: "gone", message });
      }
    },
    [token, openShare],
  );

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className={styles.page}>
      <header className={styles.header}>
        <a href="/" className={styles.brand}>
          filestore
        </a>
      </header>
      <main className={styles.card}>
        {state.kind === "loading" && <p className={styles.muted}>Opening the link…</p>}
        {state.kind === "gone" && (
          <div role="alert">
            <h1 className={styles.title}>Link unavailable</h1>
            <p className={styles.muted}>{state.message}</p>
          </div>
        )}
        {state.kind === "password" && (
          <PasswordForm error={state.error} busy={open.isPending} onSubmit={(password) => void load({ parentId: folderId, password })} />
        )}
        {state.kind === "open" && (
          <Opened
            token={token}
            view={state.view}
            items={state.items}
            busy={open.isPending}
            onBrowse={(id) => {
              setFolderId(id);
              void load({ parentId: id });
            }}
            onMore={() => void load({ parentId: folderId, cursor: state.view.nextCursor })}
          />
        )}
      </main>
    </div>
  );
}

function PasswordForm({ error, busy, onSubmit }: { error: string | null; busy: boolean; onSubmit: (password: string) => void }) {
  const [password, setPassword] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password) onSubmit(password);
  };
  return (
    <form onSubmit={submit} className={styles.form}>
      <h1 className={styles.title}>This link is protected</h1>
      <p className={styles.muted}>Enter the password you were given.</p>
      <label className={styles.label}>
        Password
        <input
          type="password"
          autoFocus
          autoComplete="off"
          className={styles.input}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="share-password"
        />
      </label>
      {error && (
        <p className={styles.error} role="alert" data-testid="share-error">
          {error}
        </p>
      )}
      <button type="submit" className={styles.primary} disabled={busy || !password}>
        {busy ? "Checking…" : "Open"}
      </button>
    </form>
  );
}

function Opened(props: {
  token: string;
  view: Opened;
  items: Item[];
  busy: boolean;
  onBrowse: (id: string | null) => void;
  onMore: () => void;
}) {
  const { token, view, items } = props;
  const { share, entry } = view;
  return (
    <>
      <p className={styles.muted}>
        Shared by <strong>{share.sharedBy}</strong>
        {share.expiresAt && <> · available until {formatDate(new Date(share.expiresAt))}</>}
        {share.maxDownloads !== null && (
          <>
            {" "}
            · {Math.max(0, share.maxDownloads - share.downloadCount)} of {share.maxDownloads} downloads left
          </>
        )}
      </p>
      {entry.kind === "file" ? (
        <div className={styles.file}>
          <h1 className={styles.title} data-testid="share-name">
            {entry.name}
          </h1>
          <p className={styles.muted}>{formatBytes(entry.size ?? 0)}</p>
          <a className={styles.primary} href={contentHref(token, share.kind === "folder" ? entry.id : undefined)} download>
            Download
          </a>
        </div>
      ) : (
        <>
          <nav className={styles.crumbs} aria-label="Folder path">
            {view.path.map((p, i) => (
              <span key={p.id}>
                {i > 0 && <span className={styles.sep}>/</span>}
                {i < view.path.length - 1 ? (
                  <button type="button" className={styles.link} onClick={() => props.onBrowse(i === 0 ? null : p.id)}>
                    {p.name}
                  </button>
                ) : (
                  <strong data-testid="share-name">{p.name}</strong>
                )}
              </span>
            ))}
          </nav>
          {items.length === 0 ? (
            <p className={styles.muted}>This folder is empty.</p>
          ) : (
            <ul className={styles.list} data-testid="share-items">
              {items.map((item) => (
                <li key={item.id} className={styles.row}>
                  {item.kind === "folder" ? (
                    <button type="button" className={styles.link} onClick={() => props.onBrowse(item.id)}>
                      <Icon kind="folder" />
                      {item.name}
                    </button>
                  ) : (
                    <span className={styles.name}>
                      <Icon kind="file" />
                      {item.name}
                    </span>
                  )}
                  <span className={styles.meta}>{item.kind === "file" ? formatBytes(item.size ?? 0) : ""}</span>
                  {item.kind === "file" && (
                    <a className={styles.secondary} href={contentHref(token, item.id)} download>
                      Download
                    </a>
                  )}
                </li>
              ))}
            </ul>
          )}
          {view.nextCursor && (
            <button type="button" className={styles.secondary} disabled={props.busy} onClick={props.onMore}>
              {props.busy ? "Loading…" : "Show more"}
            </button>
          )}
        </>
      )}
      <SaveToDrive token={token} />
    </>
  );
}

/** Plain outline icons (no emoji: fonts for them are not everywhere). */
function Icon({ kind }: { kind: "file" | "folder" }) {
  return (
    <svg className={styles.icon} viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      {kind === "folder" ? (
        <path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4.3l2 2h8.7A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z" />
      ) : (
        <path d="M6.5 3h7.8L19 7.7v11.8a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 19.5v-15A1.5 1.5 0 0 1 6.5 3zM14 3v5h5" />
      )}
    </svg>
  );
}

/** Offered only to visitors who are signed in (user.me answers). */
function SaveToDrive({ token }: { token: string }) {
  const me = api.user.me.useQuery(undefined, { retry: false });
  const save = api.share.save.useMutation();
  if (!me.data) return null;
  return (
    <div className={styles.save}>
      {save.isSuccess ? (
        <p className={styles.muted}>
          Saved to your drive as “{save.data.name}”. <a href="/">Open my drive</a>
        </p>
      ) : (
        <button type="button" className={styles.secondary} disabled={save.isPending} onClick={() => save.mutate({ token })}>
          {save.isPending ? "Saving…" : "Save to my drive"}
        </button>
      )}
      {save.isError && (
        <p className={styles.error} role="alert">
          {save.error.message}
        </p>
      )}
    </div>
  );
}
