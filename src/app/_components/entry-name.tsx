import Link from "next/link";
import type { ReactNode } from "react";
import { Icon } from "./icons";

// An entry's kind icon and name on one line, as the listing, the trash and the shared-links page
// show it. With `href` the name is a link: a folder's opens it in the app, a file's downloads it.
// `children` (a badge) follow the name.

export function EntryName({
  kind,
  name,
  href,
  children,
}: {
  kind: "file" | "folder";
  name: string;
  href?: string;
  children?: ReactNode;
}) {
  return (
    <div className="name-line">
      <Icon name={kind === "folder" ? "folder" : "file"} className={`kind-icon ${kind}`} />
      {href === undefined ? (
        <span className="entry-name" title={name}>
          {name}
        </span>
      ) : kind === "folder" ? (
        <Link href={href} className="entry-name" title={name}>
          {name}
        </Link>
      ) : (
        <a href={href} download={name} className="entry-name" title={name}>
          {name}
        </a>
      )}
      {children}
    </div>
  );
}
