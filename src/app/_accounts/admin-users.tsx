"use client";

import { useState, type FormEvent } from "react";
import { formatBytes, formatDate } from "~/app/_components/format";
import { api, type RouterOutputs } from "~/trpc/react";
import styles from "./accounts.module.css";
import { accountError, Badge, Message, Section } from "./ui";

// The admin's list of accounts: usage against quota, two-factor, status; set a quota (in GiB),
// disable or re-enable an account.

type AdminUser = RouterOutputs["admin"]["listUsers"]["items"][number];

const GIB = 1024 ** 3;

function QuotaCell({ user, onSaved }: { user: AdminUser; onSaved: (message: string | null, error?: string) => void }) {
  const setQuota = api.admin.setQuota.useMutation();
  const [editing, setEditing] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const gib = Number(String(new FormData(event.currentTarget).get("quota") ?? "").replace(",", "."));
    if (!Number.isFinite(gib) || gib < 0) return onSaved(null, "Enter a quota in GiB (0 or more).");
    try {
      await setQuota.mutateAsync({ userId: user.id, quotaBytes: Math.round(gib * GIB) });
      setEditing(false);
      onSaved(`Quota of ${user.username} set to ${formatBytes(Math.round(gib * GIB))}.`);
    } catch (e) {
      onSaved(null, accountError(e));
    }
  }

  if (!editing) {
    return (
      <>
        {formatBytes(user.usedBytes)} of {formatBytes(user.quotaBytes)}{" "}
        <button type="button" className="link" onClick={() => setEditing(true)} data-testid="edit-quota">
          change
        </button>
      </>
    );
  }
  return (
    <form onSubmit={onSubmit} className={styles.actions} style={{ justifyContent: "flex-end" }}>
      <input
        name="quota"
        className={styles.quotaInput}
        defaultValue={String(Math.round((user.quotaBytes / GIB) * 100) / 100)}
        inputMode="decimal"
        aria-label={`Quota of ${user.username} in GiB`}
        autoFocus
      />
      GiB
      <button className="button primary" type="submit" disabled={setQuota.isPending}>
        Save
      </button>
      <button className="link" type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
    </form>
  );
}

export function AdminUsers({ selfId }: { selfId: string }) {
  const utils = api.useUtils();
  const [q, setQ] = useState("");
  const users = api.admin.listUsers.useInfiniteQuery(
    { q: q || undefined, limit: 50 },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );
  const setDisabled = api.admin.setDisabled.useMutation();
  const resetLink = api.admin.createResetLink.useMutation();
  const resetTwoFactor = api.admin.resetTwoFactor.useMutation();
  const [handOver, setHandOver] = useState<{ username: string; url: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rows = users.data?.pages.flatMap((p) => p.items) ?? [];

  const saved = (ok: string | null, failure?: string) => {
    setMessage(ok);
    setError(failure ?? null);
    if (ok) void utils.admin.listUsers.invalidate();
  };

  async function toggle(user: AdminUser) {
    const disabled = !user.disabled;
    if (disabled && !window.confirm(`Disable ${user.username}? They are signed out everywhere and their share links stop.`)) return;
    try {
      await setDisabled.mutateAsync({ userId: user.id, disabled });
      saved(disabled ? `${user.username} is disabled and signed out everywhere.` : `${user.username} can sign in again.`);
    } catch (e) {
      saved(null, accountError(e));
    }
  }

  async function linkFor(user: AdminUser) {
    try {
      const { url } = await resetLink.mutateAsync({ userId: user.id });
      setHandOver({ username: user.username, url });
      saved(null);
    } catch (e) {
      saved(null, accountError(e));
    }
  }

  async function twoFactorOff(user: AdminUser) {
    if (!window.confirm(`Turn off two-factor sign-in for ${user.username}? Their recovery codes stop working.`)) return;
    try {
      await resetTwoFactor.mutateAsync({ userId: user.id });
      saved(`Two-factor sign-in is off for ${user.username}.`);
    } catch (e) {
      saved(null, accountError(e));
    }
  }

  return (
    <Section title="Accounts" testId="admin-users">
      <div className={styles.toolbar}>
        <input
          type="search"
          placeholder="Search usernames and addresses"
          aria-label="Search accounts"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          style={{ flex: "1 1 16rem", font: "inherit", padding: "0.45rem 0.65rem", border: "1px solid var(--border)", borderRadius: 8 }}
        />
      </div>
      {error && <Message kind="error" testId="admin-error">{error}</Message>}
      {message && <Message kind="success" testId="admin-done">{message}</Message>}
      {users.error && <Message kind="error">{accountError(users.error)}</Message>}
      {handOver && (
        <Message kind="success" testId="admin-reset-link">
          Password-reset link for {handOver.username} (works once; give it to them yourself):{" "}
          <code style={{ wordBreak: "break-all" }}>{handOver.url}</code>
        </Message>
      )}
      <div style={{ overflowX: "auto" }}>
        <table className={styles.table}>
          <thead>
            <tr>
              <th>User</th>
              <th>Email</th>
              <th>Two-factor</th>
              <th className={styles.num}>Files</th>
              <th className={styles.num}>Used of quota</th>
              <th>Last sign-in</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((user) => (
              <tr key={user.id} data-testid="admin-user-row" data-username={user.username}>
                <td>
                  <strong>{user.username}</strong>
                  {user.role === "admin" && <Badge on>admin</Badge>}
                </td>
                <td>{user.email ?? <span className="muted">—</span>}</td>
                <td>{user.twoFactor ? "on" : "off"}</td>
                <td className={styles.num}>{user.files}</td>
                <td className={styles.num}>
                  <QuotaCell user={user} onSaved={saved} />
                </td>
                <td>{user.lastSigninAt ? formatDate(user.lastSigninAt) : "never"}</td>
                <td>
                  <Badge on={!user.disabled}>{user.disabled ? "disabled" : "active"}</Badge>
                </td>
                <td>
                  <div className={styles.actions} style={{ flexWrap: "nowrap" }}>
                    {user.id !== selfId && (
                      <button className="button secondary" type="button" disabled={setDisabled.isPending} onClick={() => void toggle(user)}>
                        {user.disabled ? "Enable" : "Disable"}
                      </button>
                    )}
                    <button className="link" type="button" onClick={() => void linkFor(user)} title="A password-reset link to hand over">
                      reset link
                    </button>
                    {user.twoFactor && (
                      <button className="link" type="button" onClick={() => void twoFactorOff(user)}>
                        2FA off
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {users.hasNextPage && (
        <p>
          <button className="button secondary" type="button" disabled={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()}>
            More accounts
          </button>
        </p>
      )}
    </Section>
  );
}
