/**
 * Pure parsing and application of the registrations list query (`limit`, `offset`,
 * `totalCount`, `urlEncodedResourceCRNQuery`, `preventKeyDeletion`).
 */

/** Largest `limit` the real service accepts. */
export const MAX_REGISTRATIONS_LIMIT = 5000;
/** `limit` when none is given. */
export const DEFAULT_REGISTRATIONS_LIMIT = 200;

/** A parsed registrations query. */
export interface RegistrationQuery {
  readonly limit: number;
  readonly offset: number;
  readonly totalCount: boolean;
  readonly crnPattern?: RegExp;
  readonly preventKeyDeletion?: boolean;
}

/** A query problem: which parameter and why. */
export interface QueryError {
  readonly parameter: string;
  readonly message: string;
}

function parseBool(v: string): boolean | undefined {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

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
  const int = (name: string, def: number, min: number, max: number): number | QueryError => {
    const raw = q.get(name);
    if (raw === null || raw === '') return def;
    if (!/^\d{1,9}$/.test(raw)) return { parameter: name, message: `The query parameter '${name}' must be an integer from ${min} to ${max}` };
    const n = Number(raw);
    if (n < min || n > max) return { parameter: name, message: `The query parameter '${name}' must be an integer from ${min} to ${max}; got ${n}` };
    return n;
  };
  const limit = int('limit', DEFAULT_REGISTRATIONS_LIMIT, 1, MAX_REGISTRATIONS_LIMIT);
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
  const result: { -readonly [K in keyof RegistrationQuery]: RegistrationQuery[K] } = { limit, offset, totalCount };
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

/** Type guard for {@link QueryError}. */
export function isQueryError(q: RegistrationQuery | QueryError): q is QueryError {
  return 'parameter' in q;
}

/** Filters and pages `items`; returns the page and the number of matches before paging. */
export function applyRegistrationQuery<T extends { readonly resourceCrn: string; readonly preventKeyDeletion: boolean }>(
  items: Iterable<T>,
  q: RegistrationQuery,
): { page: T[]; total: number } {
  const page: T[] = [];
  let total = 0;
  for (const item of items) {
    if (q.crnPattern && !q.crnPattern.test(item.resourceCrn)) continue;
    if (q.preventKeyDeletion !== undefined && item.preventKeyDeletion !== q.preventKeyDeletion) continue;
    if (total >= q.offset && page.length < q.limit) page.push(item);
    total += 1;
  }
  return { page, total };
}
