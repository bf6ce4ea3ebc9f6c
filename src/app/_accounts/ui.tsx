"use client";

import type { ReactNode } from "react";
import { errorCode, errorMessage } from "~/app/_components/errors";
import type { RouterOutputs } from "~/trpc/react";
import styles from "./accounts.module.css";

// Small pieces shared by the account and admin pages.

export type Me = RouterOutputs["user"]["me"];

export function Message({ kind, children, testId }: { kind: "error" | "success"; children: ReactNode; testId?: string }) {
  return (
    <div
      className={kind === "error" ? "notice error" : `notice ${styles.success}`}
      role={kind === "error" ? "alert" : "status"}
      data-testid={testId}
    >
      {children}
    </div>
  );
}

export function Section({ title, badge, children, testId }: { title: string; badge?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <section className={`card ${styles.section}`} data-testid={testId}>
      <h2>
        {title}
        {badge}
      </h2>
      {children}
    </section>
  );
}

export function Badge({ on, children }: { on: boolean; children: ReactNode }) {
  return <span className={`${styles.status} ${on ? styles.on : styles.off}`}>{children}</span>;
}

function retryText(seconds: unknown): string {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return "later";
  return n < 90 ? `in ${Math.ceil(n)} seconds` : `in ${Math.ceil(n / 60)} minutes`;
}

/** A sentence for a failed account call: the server's own message for 4xx answers that explain themselves. */
export function accountError(error: unknown): string {
  const code = errorCode(error);
  const data = (error as { data?: { details?: { retryAfter?: number } | null } } | null)?.data;
  if (code === "TOO_MANY_REQUESTS") {
    const message = (error as { message?: string }).message;
    return `${message?.replace(/[.;].*$/, "") || "Too many attempts"}. Try again ${retryText(data?.details?.retryAfter)}.`;
  }
  if (code === "FORBIDDEN" || code === "CONFLICT" || code === "PRECONDITION_FAILED" || code === "SERVICE_UNAVAILABLE") {
    const message = (error as { message?: string }).message;
    if (message) return message.endsWith(".") ? message : `${message}.`;
  }
  const message = errorMessage(error);
  return message.endsWith(".") ? message : `${message}.`;
}
