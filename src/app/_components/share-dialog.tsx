"use client";

import { useState, type FormEvent } from "react";
import { api } from "~/trpc/react";
import { Dialog } from "./dialog";
import { errorMessage } from "./errors";
import { Icon } from "./icons";

// "Share": create a public link to a file or folder, optionally with a password, an expiry and a
// download limit, then copy it.

const EXPIRY_OPTIONS = [
  { value: "", label: "Never" },
  { value: "1", label: "In 1 day" },
  { value: "7", label: "In 7 days" },
  { value: "30", label: "In 30 days" },
] as const;

export function ShareDialog({ entry, onClose }: { entry: { id: string; name: string }; onClose: () => void }) {
  const utils = api.useUtils();
  const create = api.share.create.useMutation();
  const [error, setError] = useState<string | null>(null);
  const [url, setUrl] = useState<string | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get("password") ?? "");
    const days = Number(form.get("expires") || 0);
    const limitText = String(form.get("maxDownloads") ?? "").trim();
    const maxDownloads = limitText === "" ? null : Number(limitText);
    if (password.length > 128) return setError("Passwords are at most 128 characters.");
    if (maxDownloads !== null && (!Number.isInteger(maxDownloads) || maxDownloads < 1)) {
      return setError("The download limit is a whole number, at least 1.");
    }
    setError(null);
    try {
      const share = await create.mutateAsync({
        id: entry.id,
        password: password || null,
        expiresAt: days > 0 ? new Date(Date.now() + days * 86_400_000) : null,
        maxDownloads,
      });
      setUrl(new URL(share.url, window.location.origin).toString());
      void utils.share.list.invalidate();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <Dialog title={`Share “${entry.name}”`} onClose={onClose} testId="share-dialog">
      {url ? (
        <>
          <p className="dialog-message">Anyone with this link can open it{create.variables?.password ? " with the password" : ""}.</p>
          <CopyField value={url} />
          <div className="dialog-actions">
            <button type="button" className="button primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form className="dialog-form" onSubmit={onSubmit} noValidate>
          <label>
            Password <span className="hint">(optional)</span>
            <input name="password" type="password" autoComplete="new-password" maxLength={128} data-testid="share-password" />
          </label>
          <div className="field-row">
            <label>
              Link expires
              <select name="expires" defaultValue="" data-testid="share-expires">
                {EXPIRY_OPTIONS.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Download limit <span className="hint">(optional)</span>
              <input name="maxDownloads" type="number" min={1} step={1} inputMode="numeric" placeholder="No limit" data-testid="share-limit" />
            </label>
          </div>
          {error && (
            <div className="notice error" role="alert">
              {error}
            </div>
          )}
          <div className="dialog-actions">
            <button type="button" className="button secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={create.isPending} data-testid="share-create">
              {create.isPending ? "Creating…" : "Create link"}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** A read-only field with a Copy button (clipboard API, falling back to selecting the text). */
export function CopyField({ value }: { value: string }) {
  const [copied, setCopied] = useState<"yes" | "select" | null>(null);
  return (
    <div className="copy-field">
      <input readOnly value={value} onFocus={(e) => e.currentTarget.select()} aria-label="Link" data-testid="share-url" />
      <button
        type="button"
        className="button secondary"
        onClick={async (e) => {
          const field = e.currentTarget.previousElementSibling as HTMLInputElement | null;
          try {
            await navigator.clipboard.writeText(value);
            setCopied("yes");
          } catch {
            // no clipboard access (plain http on another host): select it for Ctrl+C
            field?.select();
            setCopied("select");
          }
        }}
        data-testid="copy-link"
      >
        <Icon name="copy" size={16} />
        {copied === "yes" ? "Copied" : copied === "select" ? "Press Ctrl+C" : "Copy"}
      </button>
    </div>
  );
}
