"use client";

// Pieces shared by the tables of the drive, the trash and the shared links.

/** The "Show more" button under a list fed by an infinite query; nothing once all pages are in. */
export function ShowMore({
  query,
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> };
}) {
  if (!query.hasNextPage) return null;
  return (
    <div className="more">
      <button type="button" className="button secondary" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
        {query.isFetchingNextPage ? "Loading…" : "Show more"}
      </button>
    </div>
  );
}

/** The header cell over the row actions: nothing to see, "Actions" for screen readers. */
export function ActionsHeader() {
  return (
    <th className="actions">
      <span className="sr-only">Actions</span>
    </th>
  );
}
