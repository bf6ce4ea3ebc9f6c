"use client";

import { useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { ConfirmDialog } from "./dialog";
import { EntryName } from "./entry-name";
import { errorMessage } from "./errors";
import { formatBytes, formatDate } from "./format";
import { Icon } from "./icons";
import { ActionsHeader, ShowMore } from "./listing-parts";
import { LoadError } from "./load-error";

// The trash: what the user deleted, newest first, with when each item is purged; restore,
// delete forever, empty the trash.

type TrashItem = RouterOutputs["trash"]["list"]["items"][number];

type Confirm = { kind: "purge"; item: TrashItem } | { kind: "empty" } | null;

function purgeText(purgeAt: Date): string {
  const days = Math.ceil((purgeAt.getTime() - Date.now()) / 86_400_000);
  if (days <= 0) return "Deleted soon";
  if (days === 1) return "Deleted in 1 day";
  return `Deleted in ${days} days`;
}

export function TrashView({ retentionDays }: { retentionDays: number }) {
  const utils = api.useUtils();
  const list = api.trash.list.useInfiniteQuery({ limit: 100 }, { getNextPageParam: (page) => page.nextCursor ?? undefined });
  const restore = api.trash.restore.useMutation();
  const purge = api.trash.purge.useMutation();
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = () => {
    void utils.trash.list.invalidate();
    void utils.file.list.invalidate();
    void utils.user.me.invalidate();
    void utils.share.list.invalidate();
  };

  async function onRestore(item: TrashItem) {
    setError(null);
    try {
      await restore.mutateAsync({ ids: [item.id] });
      refresh();
    } catch (e) {
      setError(
        errorMessage(e, {
          CONFLICT: `Could not restore “${item.name}”: its folder already holds something with that name. Rename that one first.`,
          NOT_FOUND: `“${item.name}” is no longer in the trash.`,
        }),
      );
    }
  }

  const items = list.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <div className="page-head">
        <h1 className="crumbs">Trash</h1>
        <div className="toolbar">
          <button
            type="button"
            className="button danger"
            disabled={items.length === 0}
            onClick={() => setConfirm({ kind: "empty" })}
            data-testid="empty-trash"
          >
            <Icon name="trash" />
            Empty trash
          </button>
        </div>
      </div>
      <p className="page-note" data-testid="trash-retention">
        {retentionDays > 0
          ? `Items in the trash are deleted forever ${retentionDays === 1 ? "1 day" : `${retentionDays} days`} after they were moved here.`
          : "Items in the trash are deleted forever right after they are moved here."}
      </p>
      {error && (
        <div className="notice error" role="alert" data-testid="trash-error">
          {error}
        </div>
      )}
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.isError ? (
        <LoadError what="the trash" onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <div className="empty" data-testid="empty-trash-state">
          <Icon name="trash" size={40} className="empty-icon" />
          <p>The trash is empty</p>
        </div>
      ) : (
        <>
          <table className="listing" data-testid="trash-listing">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Size</th>
                <th className="date hide-narrow">Deleted</th>
                <th>Purged</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id} data-testid="trash-entry">
                  <td className="name-cell">
                    <EntryName kind={item.kind} name={item.name}>
                      {item.kind === "folder" && item.entryCount > 1 && (
                        <span className="badge">
                          {item.entryCount - 1} {item.entryCount === 2 ? "item" : "items"} inside
                        </span>
                      )}
                    </EntryName>
                  </td>
                  <td className="num">{formatBytes(item.kind === "folder" ? item.totalSize : (item.size ?? 0))}</td>
                  <td className="date hide-narrow">{formatDate(item.trashedAt)}</td>
                  <td className="date" title={formatDate(item.purgeAt)}>
                    {purgeText(item.purgeAt)}
                  </td>
                  <td className="actions">
                    <div className="row-actions">
                      <button
                        type="button"
                        className="button secondary small"
                        disabled={restore.isPending}
                        onClick={() => void onRestore(item)}
                        data-testid="restore"
                      >
                        <Icon name="restore" size={16} />
                        Restore
                      </button>
                      <button
                        type="button"
                        className="button danger-outline small"
                        onClick={() => setConfirm({ kind: "purge", item })}
                        data-testid="purge"
                      >
                        Delete forever
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <ShowMore query={list} />
        </>
      )}
      {confirm && (
        <ConfirmDialog
          title={confirm.kind === "empty" ? "Empty the trash?" : "Delete forever?"}
          message={
            <p>
              {confirm.kind === "empty" ? "Everything in the trash" : `“${confirm.item.name}”`} will be deleted permanently. This cannot be
              undone.
            </p>
          }
          confirmLabel={confirm.kind === "empty" ? "Empty trash" : "Delete forever"}
          busy={purge.isPending}
          onConfirm={async () => {
            await purge.mutateAsync(confirm.kind === "purge" ? { ids: [confirm.item.id] } : {});
            setConfirm(null);
            refresh();
          }}
          onClose={() => setConfirm(null)}
        />
      )}
    </>
  );
}
