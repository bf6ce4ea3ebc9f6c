"use client";

import { useState } from "react";
import { formatDate } from "~/app/_components/format";
import { api } from "~/trpc/react";
import styles from "./accounts.module.css";
import { accountError, Message, Section } from "./ui";

// Sign-up invitations (SIGNUP_MODE=invite): make a link, hand it out; each signs up one account.

export function AdminInvites() {
  const utils = api.useUtils();
  const policy = api.auth.signupPolicy.useQuery();
  const invites = api.admin.listInvites.useQuery();
  const create = api.admin.createInvite.useMutation();
  const revoke = api.admin.revokeInvite.useMutation();
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const mode = policy.data?.mode;
  return (
    <Section title="Invitations" testId="admin-invites">
      <p className="muted">
        {mode === "invite"
          ? "Sign-up needs an invitation (SIGNUP_MODE=invite). Each link signs up one account."
          : mode === "closed"
            ? "Sign-up is closed (SIGNUP_MODE=closed): invitations do not work until it is set to invite."
            : "Sign-up is open to anyone (SIGNUP_MODE=open): invitations are not needed."}
      </p>
      {error && <Message kind="error">{error}</Message>}
      {link && (
        <Message kind="success" testId="invite-link">
          New invitation (shown once): <code style={{ wordBreak: "break-all" }}>{link}</code>
        </Message>
      )}
      <div className={styles.actions} style={{ marginBottom: "1rem" }}>
        <button
          className="button primary"
          type="button"
          disabled={create.isPending}
          onClick={async () => {
            setError(null);
            try {
              setLink((await create.mutateAsync()).url);
              await utils.admin.listInvites.invalidate();
            } catch (e) {
              setError(accountError(e));
            }
          }}
        >
          New invitation
        </button>
      </div>
      {invites.data && invites.data.length > 0 && (
        <table className={styles.table}>
          <thead>
            <tr>
              <th>Created</th>
              <th>By</th>
              <th>Expires</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {invites.data.map((invite) => (
              <tr key={invite.id}>
                <td>{formatDate(invite.createdAt)}</td>
                <td>{invite.createdByUsername}</td>
                <td>{formatDate(invite.expiresAt)}</td>
                <td>{invite.state === "used" ? `used by ${invite.usedByUsername ?? "a deleted account"}` : invite.state}</td>
                <td>
                  {invite.state === "open" && (
                    <button
                      className="link"
                      type="button"
                      onClick={async () => {
                        try {
                          await revoke.mutateAsync({ id: invite.id });
                          await utils.admin.listInvites.invalidate();
                        } catch (e) {
                          setError(accountError(e));
                        }
                      }}
                    >
                      revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
