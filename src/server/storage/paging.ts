// S3 and OSS list with a cursor (a continuation token for objects, a part-number marker for parts):
// fetch a page, take its items, and go on from the cursor it names until it names none. The drivers
// differ only in the request and in how a page says where to go on.

export interface Page<T, C> {
  items: Iterable<T>;
  /** Where the next page starts; undefined on the last page. */
  next: C | undefined;
}

/** The items of every page, fetched one page at a time as they are consumed. */
export async function* paged<T, C>(fetchPage: (cursor: C | undefined) => Promise<Page<T, C>>): AsyncGenerator<T> {
  let cursor: C | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    cursor = page.next;
  } while (cursor !== undefined);
}
