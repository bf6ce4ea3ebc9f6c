"use client";

import Link from "next/link";
import { useState } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { ConfirmDialog } from "./dialog";
import { EntryName } from "./entry-name";
import { formatDate } from "./format";
import { Icon } from "./icons";
import { ActionsHeader } from "./listing-parts";
import { CopyField } from "./share-dialog";
import { LoadError } from "./load-error";

// The user's share links (not revoked), with their limits and state, and a Revoke button.

type Share = RouterOutputs["share"]["list"][number];

const STATE_TEXT: Record<Share["state"], string> = {
  active: "Active",
  expired: "Expired",
  "used-up": "Download limit reached",
  "in-trash": "Item is in the trash",
};

export function SharedLinks() {
  const utils = api.useUtils();
  const list = api.share.list.useQuery();
  const revoke = api.share.revoke.useMutation();
  const [revoking, setRevoking] = useState<Share | null>(null);
  const [showing, setShowing] = useState<string | null>(null);

  return (
    <>
      <div className="page-head">
        <h1 className="crumbs">Shared links</h1>
      </div>
      <p className="page-note">
        Links you created with <strong>Share</strong>. Anyone with a link can open it until it expires, reaches its download limit or you
        revoke it.
      </p>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.isError ? (
        <LoadError what="your links" onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <div className="empty" data-testid="empty-shares">
          <Icon name="link" size={40} className="empty-icon" />
          <p>You have not shared anything yet</p>
          <p className="empty-hint">
            Use the share button next to a file or folder in <Link href="/">My drive</Link>.
          </p>
        </div>
      ) : (
        <table className="listing" data-testid="share-listing">
          <thead>
            <tr>
              <th>Item</th>
              <th>Status</th>
              <th className="date hide-narrow">Created</th>
              <th className="date">Expires</th>
              <th className="num">Downloads</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {list.data.map((share) => (
              <tr key={share.token} data-testid="share-entry">
                <td className="name-cell">
                  <EntryName kind={share.kind} name={share.entryName} />
                  {showing === share.token && <CopyField value={new URL(share.url, window.location.origin).toString()} />}
                </td>
                <td>
                  <div className="state-line">
                    <span className={`state ${share.state}`}>{STATE_TEXT[share.state]}</span>
                    {share.hasPassword && <span className="badge">password</span>}
                  </div>
                </td>
                <td className="date hide-narrow">{formatDate(share.createdAt)}</td>
                <td className="date" data-label="Expires">
                  {share.expiresAt ? formatDate(share.expiresAt) : "Never"}
                </td>
                <td className="num" data-label="Downloads">
                  {share.downloadCount}
                  {share.maxDownloads !== null && ` / ${share.maxDownloads}`}
                </td>
                <td className="actions">
                  <div className="row-actions">
                    <button
                      type="button"
                      className="icon-button"
                      title="Show link"
                      aria-label="Show link"
                      onClick={() => setShowing(showing === share.token ? null : share.token)}
                    >
                      <Icon name="link" />
                    </button>
                    <button
                      type="button"
                      className="button danger-outline small"
                      onClick={() => setRevoking(share)}
                      data-testid="revoke"
                    >
                      Revoke
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke this link?"
          message={<p>The link to “{revoking.entryName}” will stop working for everyone who has it.</p>}
          confirmLabel="Revoke link"
          busy={revoke.isPending}
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await revoke.mutateAsync({ token: revoking.token });
            setRevoking(null);
            void utils.share.list.invalidate();
          }}
        />
      )}
    </>
  );
}
