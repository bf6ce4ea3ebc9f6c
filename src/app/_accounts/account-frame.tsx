import Link from "next/link";
import type { ReactNode } from "react";
import styles from "./accounts.module.css";

// The frame of the account and admin pages: the brand, a way back to the drive, the user.

export function AccountFrame({
  me,
  title,
  wide = false,
  children,
}: {
  me: { username: string; role: "user" | "admin" };
  title: string;
  wide?: boolean;
  children: ReactNode;
}) {
  return (
    <div>
      <header className={styles.frameBar}>
        <Link href="/" className="brand">
          filestore
        </Link>
        <nav className={styles.frameLinks} aria-label="Account">
          <Link href="/">My drive</Link>
          <Link href="/account">Account</Link>
          {me.role === "admin" && <Link href="/admin">Admin</Link>}
          <span className="user" data-testid="username">
            {me.username}
          </span>
        </nav>
      </header>
      <main className={wide ? `${styles.page} ${styles.wide}` : styles.page}>
        <h1 style={{ marginBottom: "1.25rem" }}>{title}</h1>
        {children}
      </main>
    </div>
  );
}
