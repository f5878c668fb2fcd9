import { cutPage, DEFAULT_PAGE_LIMIT, pageSize, parseBool, parsePageQuery, isQueryError, type PageQuery, type QueryError } from './paging';
import { MAX_PAGE_LIMIT } from './settings';

/**
 * Pure parsing and application of the registrations list query (`limit`, `offset`,
 * `totalCount`, `urlEncodedResourceCRNQuery`, `preventKeyDeletion`).
 */

/** Largest `limit` the real service accepts. */
export const MAX_REGISTRATIONS_LIMIT = MAX_PAGE_LIMIT;
/** `limit` when none is given. */
export const DEFAULT_REGISTRATIONS_LIMIT = DEFAULT_PAGE_LIMIT;

/** A parsed registrations query. */
export interface RegistrationQuery extends PageQuery {
  readonly crnPattern?: RegExp;
  readonly preventKeyDeletion?: boolean;
}

export { isQueryError };
export type { QueryError };

/** Turns a CRN pattern with `*` wildcards into an anchored RegExp. */
export function crnPatternToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/**
 * Parses the query. `urlEncodedResourceCRNQuery` is URL-encoded by the caller *inside*
 * the (also encoded) query string, so it is decoded once more here; a value that is not
 * valid percent-encoding is used as given.
 */
export function parseRegistrationQuery(q: URLSearchParams): RegistrationQuery | QueryError {
  const paging = parsePageQuery(q);
  if (isQueryError(paging)) return paging;
  const result: { -readonly [K in keyof RegistrationQuery]: RegistrationQuery[K] } = { ...paging };
  const rawPrevent = q.get('preventKeyDeletion');
  if (rawPrevent !== null) {
    const b = parseBool(rawPrevent);
    if (b === undefined) return { parameter: 'preventKeyDeletion', message: "The query parameter 'preventKeyDeletion' must be true or false" };
    result.preventKeyDeletion = b;
  }
  const rawCrn = q.get('urlEncodedResourceCRNQuery');
  if (rawCrn !== null && rawCrn !== '') {
    let crn = rawCrn;
    try {
      crn = decodeURIComponent(rawCrn);
    } catch {
      crn = rawCrn;
    }
    if (crn.length > 1000 || !crn.startsWith('crn:')) {
      return { parameter: 'urlEncodedResourceCRNQuery', message: "The query parameter 'urlEncodedResourceCRNQuery' must be a URL-encoded CRN (starting with 'crn:'), '*' allowed as a wildcard" };
    }
    result.crnPattern = crnPatternToRegExp(crn);
  }
  return result;
}

/**
 * Filters and pages `items`; returns the page and the number of matches before paging.
 * `maxPageSize` caps the page whatever `limit` says.
 */
export function applyRegistrationQuery<T extends { readonly resourceCrn: string; readonly preventKeyDeletion: boolean }>(
  items: Iterable<T>,
  q: RegistrationQuery,
  maxPageSize?: number,
): { page: T[]; total: number } {
  function* matching(): Iterable<T> {
    for (const item of items) {
      if (q.crnPattern && !q.crnPattern.test(item.resourceCrn)) continue;
      if (q.preventKeyDeletion !== undefined && item.preventKeyDeletion !== q.preventKeyDeletion) continue;
      yield item;
    }
  }
  return cutPage(matching(), q.offset, pageSize(q.limit, maxPageSize));
}
