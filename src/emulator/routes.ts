/**
 * Pure request routing for the emulator: method + raw URL -> which route, with the key
 * reference decoded and checked. No I/O.
 */

/** The emulated API routes; faults and log entries are keyed by these names. */
export type RouteName =
  | 'iam.token'
  | 'keys.sync'
  | 'keys.get'
  | 'keys.metadata'
  | 'keys.action'
  | 'keys.versions'
  | 'registrations.key'
  | 'registrations.all';

/** Every {@link RouteName}, for validation. */
export const ROUTE_NAMES: readonly RouteName[] = [
  'iam.token',
  'keys.sync',
  'keys.get',
  'keys.metadata',
  'keys.action',
  'keys.versions',
  'registrations.key',
  'registrations.all',
];

/** Lifecycle actions the emulator implements. */
export type KeyAction = 'rotate' | 'disable' | 'enable';

/** Reserved path prefix of the admin API (exists only on the emulator). */
export const ADMIN_PREFIX = '/__emulator/';

/** Outcome of {@link matchRoute}. */
export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteName; readonly keyRef?: string; readonly action?: KeyAction }
  | { readonly kind: 'admin'; readonly subpath: string }
  | { readonly kind: 'bad-path'; readonly route: RouteName | 'unknown'; readonly message: string }
  | { readonly kind: 'method-not-allowed'; readonly route: RouteName; readonly allow: string }
  | { readonly kind: 'not-found' };

const ACTIONS: ReadonlySet<string> = new Set(['rotate', 'disable', 'enable']);

/** A key reference is a UUID or an alias (letters, digits, `-`, `_`; up to 90 characters). */
const KEY_REF = /^[A-Za-z0-9][A-Za-z0-9_-]{0,89}$/;

/** Decodes and checks one path segment naming a key. */
export function decodeKeyRef(raw: string): { ok: true; value: string } | { ok: false; message: string } {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return { ok: false, message: `The key identifier in the path is not valid percent-encoding: '${raw.slice(0, 100)}'` };
  }
  if (value === '' ) return { ok: false, message: 'The key identifier in the path is empty' };
  if (value.includes('/') || value.includes('\\') || value.includes('..') || value.includes('\0')) {
    return {
      ok: false,
      message: 'The key identifier in the path contains a path separator or traversal sequence; use a key UUID or alias',
    };
  }
  if (!KEY_REF.test(value)) {
    return {
      ok: false,
      message: 'The key identifier must be a UUID or an alias of letters, digits, "-" and "_" (at most 90 characters)',
    };
  }
  return { ok: true, value };
}

/**
 * Matches a request. `path` is the raw path without the query; `query` the parsed query.
 */
export function matchRoute(method: string, path: string, query: URLSearchParams): RouteMatch {
  if (path.startsWith(ADMIN_PREFIX)) return { kind: 'admin', subpath: path.slice(ADMIN_PREFIX.length) };
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed === '/identity/token') {
    return method === 'POST' ? { kind: 'route', route: 'iam.token' } : { kind: 'method-not-allowed', route: 'iam.token', allow: 'POST' };
  }
  const prefix = '/api/v2/keys/';
  if (!trimmed.startsWith(prefix)) return { kind: 'not-found' };
  const segments = trimmed.slice(prefix.length).split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) {
    return { kind: 'bad-path', route: 'unknown', message: 'The path contains empty, "." or ".." segments' };
  }
  if (segments.length === 1 && segments[0] === 'registrations') {
    return method === 'GET'
      ? { kind: 'route', route: 'registrations.all' }
      : { kind: 'method-not-allowed', route: 'registrations.all', allow: 'GET' };
  }
  let route: RouteName;
  let action: KeyAction | undefined;
  let allow: string;
  const [rawRef, second, third, ...rest] = segments as [string, ...string[]];
  if (rest.length > 0) return { kind: 'not-found' };
  if (second === undefined) {
    const legacy = query.get('action');
    if (method === 'POST' && legacy !== null) {
      if (legacy === 'sync') route = 'keys.sync';
      else if (ACTIONS.has(legacy)) {
        route = 'keys.action';
        action = legacy as KeyAction;
      } else return { kind: 'bad-path', route: 'keys.action', message: `Unsupported action '${legacy.slice(0, 50)}'; the emulator supports sync, rotate, disable and enable` };
      allow = 'POST';
    } else {
      route = 'keys.get';
      allow = 'GET';
    }
  } else if (second === 'metadata' && third === undefined) {
    route = 'keys.metadata';
    allow = 'GET';
  } else if (second === 'versions' && third === undefined) {
    route = 'keys.versions';
    allow = 'GET';
  } else if (second === 'registrations' && third === undefined) {
    route = 'registrations.key';
    allow = 'GET';
  } else if (second === 'actions' && third !== undefined) {
    if (third === 'sync') route = 'keys.sync';
    else if (ACTIONS.has(third)) {
      route = 'keys.action';
      action = third as KeyAction;
    } else return { kind: 'not-found' };
    allow = 'POST';
  } else {
    return { kind: 'not-found' };
  }
  if (method !== allow) return { kind: 'method-not-allowed', route, allow };
  const ref = decodeKeyRef(rawRef);
  if (!ref.ok) return { kind: 'bad-path', route, message: ref.message };
  return action === undefined ? { kind: 'route', route, keyRef: ref.value } : { kind: 'route', route, keyRef: ref.value, action };
}
