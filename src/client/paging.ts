/**
 * Paging through an offset-paged listing, bounded whatever the server does: it follows
 * `totalCount` and the offsets of what actually came back (a server may return fewer
 * items than `limit` asked for), stops a listing that makes no progress (the same page
 * again), and stops at bounds of items, bytes, pages and time. A listing that ends with
 * fewer items than the service counted is reported as such, never as complete.
 */
import type { ListingProblem } from './failure';

export interface PageBounds {
  /** Most distinct items kept. */
  readonly maxItems: number;
  /** Most body bytes read across all pages. */
  readonly maxBytes: number;
  readonly maxPages: number;
  /** Longest a whole listing may take, ms (each page's retries are bounded separately). */
  readonly maxMs: number;
}

/**
 * The bounds of a registrations listing: generous for any real instance (a page of 5000
 * is a few MiB), small enough that a hostile server cannot exhaust memory or time.
 */
export const LISTING_BOUNDS: PageBounds = {
  maxItems: 100_000,
  maxBytes: 64 * 1024 * 1024,
  maxPages: 2_000,
  maxMs: 10 * 60_000,
};

/** One page as the caller fetched and parsed it. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly totalCount?: number;
  readonly bytes: number;
}

export type PagingResult<T, F> =
  | { readonly kind: 'listed'; readonly items: readonly T[]; readonly totalCount?: number; readonly pages: number }
  | { readonly kind: 'stopped'; readonly problem: ListingProblem; readonly pages: number }
  | { readonly kind: 'failed'; readonly failure: F; readonly pages: number };

export interface PagingOptions<T> {
  readonly bounds: PageBounds;
  readonly now: () => number;
  /** Identity of an item: the same item on two pages is kept once. */
  readonly identity: (item: T) => string;
}

/**
 * Fetches pages from offset 0 until the listing is complete (an empty page, or as many
 * items as the latest `totalCount`), a bound stops it, or `fetch` fails.
 */
export async function pageThrough<T, F>(
  fetch: (offset: number) => Promise<{ readonly ok: true; readonly page: Page<T> } | { readonly ok: false; readonly failure: F }>,
  opts: PagingOptions<T>,
): Promise<PagingResult<T, F>> {
  const { bounds } = opts;
  const start = opts.now();
  const seen = new Set<string>();
  const items: T[] = [];
  let bytes = 0;
  let offset = 0;
  let pages = 0;
  let totalCount: number | undefined;
  for (;;) {
    if (pages >= bounds.maxPages) return { kind: 'stopped', problem: { kind: 'too-many-pages', limit: bounds.maxPages }, pages };
    if (opts.now() - start > bounds.maxMs) return { kind: 'stopped', problem: { kind: 'too-slow', limitMs: bounds.maxMs, pages }, pages };
    const r = await fetch(offset);
    if (!r.ok) return { kind: 'failed', failure: r.failure, pages };
    pages++;
    const page = r.page;
    bytes += page.bytes;
    if (bytes > bounds.maxBytes) return { kind: 'stopped', problem: { kind: 'too-many-bytes', limit: bounds.maxBytes }, pages };
    let fresh = 0;
    for (const item of page.items) {
      const id = opts.identity(item);
      if (seen.has(id)) continue;
      seen.add(id);
      items.push(item);
      fresh++;
    }
    if (page.items.length > 0 && fresh === 0) return { kind: 'stopped', problem: { kind: 'no-progress', offset, page: pages }, pages };
    if (items.length > bounds.maxItems) return { kind: 'stopped', problem: { kind: 'too-many-items', limit: bounds.maxItems }, pages };
    if (page.totalCount !== undefined) totalCount = page.totalCount;
    offset += page.items.length;
    const end = page.items.length === 0 || (totalCount !== undefined && offset >= totalCount);
    if (!end) continue;
    if (totalCount !== undefined && items.length < totalCount) {
      return { kind: 'stopped', problem: { kind: 'count-mismatch', received: items.length, totalCount }, pages };
    }
    return totalCount === undefined ? { kind: 'listed', items, pages } : { kind: 'listed', items, totalCount, pages };
  }
}
