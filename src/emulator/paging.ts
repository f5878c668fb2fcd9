import { MAX_PAGE_LIMIT } from './settings';

/**
 * Pure parsing of the paging query every listing shares (`limit`, `offset`,
 * `totalCount`) and the cut of one page, with the optional `maxPageSize` cap.
 */

/** `limit` when none is given. */
export const DEFAULT_PAGE_LIMIT = 200;

/** A parsed paging query. */
export interface PageQuery {
  readonly limit: number;
  readonly offset: number;
  readonly totalCount: boolean;
}

/** A query problem: which parameter and why. */
export interface QueryError {
  readonly parameter: string;
  readonly message: string;
}

/** Type guard for {@link QueryError}. */
export function isQueryError(q: object): q is QueryError {
  return 'parameter' in q;
}

/** `true` / `false` (exactly), else undefined. */
export function parseBool(v: string): boolean | undefined {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** Parses `limit` (1-5000, default 200), `offset` (default 0) and `totalCount`. */
export function parsePageQuery(q: URLSearchParams): PageQuery | QueryError {
  const int = (name: string, def: number, min: number, max: number): number | QueryError => {
    const raw = q.get(name);
    if (raw === null || raw === '') return def;
    if (!/^\d{1,9}$/.test(raw)) return { parameter: name, message: `The query parameter '${name}' must be an integer from ${min} to ${max}` };
    const n = Number(raw);
    if (n < min || n > max) return { parameter: name, message: `The query parameter '${name}' must be an integer from ${min} to ${max}; got ${n}` };
    return n;
  };
  const limit = int('limit', DEFAULT_PAGE_LIMIT, 1, MAX_PAGE_LIMIT);
  if (typeof limit !== 'number') return limit;
  const offset = int('offset', 0, 0, 999_999_999);
  if (typeof offset !== 'number') return offset;
  let totalCount = false;
  const rawTotal = q.get('totalCount');
  if (rawTotal !== null) {
    const b = parseBool(rawTotal);
    if (b === undefined) return { parameter: 'totalCount', message: "The query parameter 'totalCount' must be true or false" };
    totalCount = b;
  }
  return { limit, offset, totalCount };
}

/** Items one page may hold: `limit`, cut to `maxPageSize` when a cap is set. */
export function pageSize(limit: number, maxPageSize: number | undefined): number {
  return maxPageSize === undefined ? limit : Math.min(limit, maxPageSize);
}

/** The page `[offset, offset + size)` of `items` and how many there are in all. */
export function cutPage<T>(items: Iterable<T>, offset: number, size: number): { page: T[]; total: number } {
  const page: T[] = [];
  let total = 0;
  for (const item of items) {
    if (total >= offset && page.length < size) page.push(item);
    total += 1;
  }
  return { page, total };
}
