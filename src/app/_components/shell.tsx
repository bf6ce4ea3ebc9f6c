"use client";

import { signOut } from "next-auth/react";
import Link from "next/link";
import { useState, type ReactNode } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import { formatBytes } from "./format";
import { Icon, type IconName } from "./icons";
import { TransfersPanel } from "./upload-panel";

// The frame of every signed-in page: top bar (brand, quota, user, sign out), the side
// navigation (My drive, Shared links, Trash) and the upload panel, which stays on screen from
// page to page while uploads run.

export type Me = RouterOutputs["user"]["me"];
export type Section = "drive" | "shared" | "trash";

const NAV: Array<{ section: Section; href: string; label: string; icon: IconName }> = [
  { section: "drive", href: "/", label: "My drive", icon: "drive" },
  { section: "shared", href: "/shared", label: "Shared links", icon: "link" },
  { section: "trash", href: "/trash", label: "Trash", icon: "trash" },
];

export function AppShell({ me: initialMe, section, children }: { me: Me; section: Section; children: ReactNode }) {
  // The server rendered `me`; the query keeps the quota current after uploads and deletes.
  const me = api.user.me.useQuery(undefined, { initialData: initialMe }).data;
  return (
    <div className="drive">
      <header className="topbar">
        <Link href="/" className="brand">
          filestore
        </Link>
        <div className="topbar-right">
          <QuotaMeter usedBytes={me.usedBytes} quotaBytes={me.quotaBytes} />
          <span className="user" data-testid="username">
            {me.username}
          </span>
          {/* accounts (issue 14): settings, and the admin page for admins */}
          <Link href="/account">Account</Link>
          {me.role === "admin" && <Link href="/admin">Admin</Link>}
          <SignOutButton />
        </div>
      </header>
      <div className="layout">
        <nav className="sidenav" aria-label="Sections">
          {NAV.map((item) => (
            <Link
              key={item.section}
              href={item.href}
              className={item.section === section ? "navlink active" : "navlink"}
              aria-current={item.section === section ? "page" : undefined}
              title={item.label}
            >
              <Icon name={item.icon} />
              {item.label}
            </Link>
          ))}
        </nav>
        <main className="drive-main">{children}</main>
      </div>
      <TransfersPanel />
    </div>
  );
}

export function QuotaMeter({ usedBytes, quotaBytes }: { usedBytes: number; quotaBytes: number }) {
  const fraction = quotaBytes > 0 ? Math.min(1, usedBytes / quotaBytes) : 1;
  return (
    <div className="quota" data-testid="quota" title={`${usedBytes} of ${quotaBytes} bytes used`}>
      <div className="quota-bar" aria-hidden>
        <div className={fraction > 0.9 ? "quota-fill full" : "quota-fill"} style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      <span className="quota-text">
        {formatBytes(usedBytes)} of {formatBytes(quotaBytes)} used
      </span>
    </div>
  );
}

function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="button secondary"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void signOut({ callbackUrl: "/signin" });
      }}
    >
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}
