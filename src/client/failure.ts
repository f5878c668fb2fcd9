/**
 * Why a call did not succeed, as typed values: the client returns these and the CLI's
 * output layer turns them into sentences. Every string in them that came from a server
 * has been through the sanitizer. Pure.
 */
import type { KeySyncErrorCode } from './errors';

/** Which service an exchange was with. */
export type Service = 'key-service' | 'iam';

/**
 * Where a call was when it ended (told to the user on SIGINT/SIGTERM). `listing`: the
 * CLI's registrations check before a sync; `reading-key`: a rotation reading its key.
 */
export type CallPhase = 'starting' | 'token' | 'request' | 'backoff' | 'gate-wait' | 'listing' | 'reading-key' | 'done';

/** What the last attempt of a call produced, as far as a message needs it. */
export type LastOutcome =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter: boolean }
  | { readonly kind: 'network'; readonly code?: string }
  | { readonly kind: 'timeout'; readonly phase: 'connect' | 'response' };

/** The service's own words about a refusal, sanitized. */
export interface ServerSaid {
  readonly reasonCode?: string;
  readonly message?: string;
  /** IAM's `context.requestId`. */
  readonly requestId?: string;
}

/** A bound that stopped a registrations listing (see paging.ts). */
export type ListingProblem =
  | { readonly kind: 'no-progress'; readonly offset: number; readonly page: number }
  | { readonly kind: 'too-many-items'; readonly limit: number }
  | { readonly kind: 'too-many-bytes'; readonly limit: number }
  | { readonly kind: 'too-many-pages'; readonly limit: number }
  | { readonly kind: 'too-slow'; readonly limitMs: number; readonly pages: number }
  | { readonly kind: 'count-mismatch'; readonly received: number; readonly totalCount: number };

/**
 * Why a key cannot be rotated by `key-sync rotate` (found from the key before any rotate
 * request): a standard key (only root keys rotate), a state the service does not rotate
 * in, or imported key material (its rotation needs new material, which key-sync never
 * handles).
 */
export type NotRotatable =
  | { readonly reason: 'standard-key' }
  | { readonly reason: 'state'; readonly state: number; readonly service: 'key-protect' | 'hpcs' | 'unknown' }
  | { readonly reason: 'imported' };

export type Failure =
  /** A permanent HTTP answer (400, 401 after a refresh, 403, 404, 409 not gated, 410, 422, 501, 3xx...). */
  | ({ readonly kind: 'refused'; readonly service: Service; readonly endpoint: string; readonly status: number; readonly afterTokenRefresh: boolean; readonly staticToken: boolean } & ServerSaid)
  /** A connection that retrying cannot fix: a refused certificate, not TLS, headers over Node's limit. */
  | { readonly kind: 'unusable-connection'; readonly service: Service; readonly endpoint: string; readonly problem: 'tls' | 'not-tls' | 'headers'; readonly code: string }
  /** Transient failures (network, timeouts, 408, 429, 5xx) outlasted the attempts or the time budget. */
  | ({ readonly kind: 'gave-up'; readonly service: Service; readonly endpoint: string; readonly why: 'attempts' | 'deadline'; readonly attempts: number; readonly budgetMs: number; readonly last: LastOutcome; readonly reachedKeyService: boolean } & ServerSaid)
  /** A 2xx whose body we need is not what it must be. */
  | { readonly kind: 'bad-response'; readonly service: Service; readonly endpoint: string; readonly status: number; readonly what: 'token' | 'registrations' | 'key' | 'versions'; readonly detail: 'not-json' | 'wrong-shape' | 'cut-at-cap' }
  /** A registrations listing stopped by one of its bounds or found inconsistent. */
  | { readonly kind: 'listing'; readonly endpoint: string; readonly problem: ListingProblem }
  /** The key read before a rotation shows it cannot be rotated (nothing was sent to rotate it). */
  | { readonly kind: 'not-rotatable'; readonly keyId: string; readonly why: NotRotatable }
  /** SIGINT/SIGTERM (or the caller's signal). */
  | { readonly kind: 'aborted'; readonly phase: CallPhase }
  /** A bug in key-sync: `name` is the error's type (its message could hold anything). */
  | { readonly kind: 'internal'; readonly name: string };

/** The stable error code of a failure. */
export function codeOf(f: Failure): KeySyncErrorCode {
  switch (f.kind) {
    case 'refused':
      if (f.service === 'iam') return 'KS_IAM_REFUSED';
      return codeForStatus(f.status);
    case 'unusable-connection':
      return f.problem === 'headers' ? 'KS_BAD_RESPONSE' : 'KS_TLS';
    case 'gave-up':
      if (f.why === 'deadline' && f.last.kind === 'status' && f.last.retryAfter) return f.last.status === 429 ? 'KS_THROTTLED' : 'KS_HTTP_5XX';
      return transientCode(f.last);
    case 'bad-response':
      return f.service === 'iam' ? 'KS_IAM_BAD_RESPONSE' : 'KS_BAD_RESPONSE';
    case 'listing':
      switch (f.problem.kind) {
        case 'no-progress':
          return 'KS_BAD_RESPONSE';
        case 'count-mismatch':
          return 'KS_LISTING_INCOMPLETE';
        case 'too-slow':
          return 'KS_DEADLINE';
        default:
          return 'KS_LISTING_TOO_LARGE';
      }
    case 'not-rotatable':
      return 'KS_NOT_ROTATABLE';
    case 'aborted':
      return 'KS_ABORTED';
    case 'internal':
      return 'KS_INTERNAL';
  }
}

/** The stable code for a permanent HTTP failure from the key API. */
export function codeForStatus(status: number): KeySyncErrorCode {
  if (status === 401) return 'KS_AUTH';
  if (status === 403) return 'KS_FORBIDDEN';
  if (status === 404) return 'KS_NOT_FOUND';
  if (status === 409) return 'KS_CONFLICT';
  if (status === 501) return 'KS_NOT_IMPLEMENTED';
  if (status === 429) return 'KS_THROTTLED';
  if (status >= 500 && status <= 599) return 'KS_HTTP_5XX';
  if (status === 408) return 'KS_TIMEOUT';
  if (status >= 400 && status <= 499) return 'KS_HTTP_4XX';
  return 'KS_HTTP_UNEXPECTED';
}

function transientCode(o: LastOutcome): KeySyncErrorCode {
  if (o.kind === 'timeout') return 'KS_TIMEOUT';
  if (o.kind === 'network') return 'KS_NETWORK';
  if (o.status === 429) return 'KS_THROTTLED';
  if (o.status === 408) return 'KS_TIMEOUT';
  return 'KS_HTTP_5XX';
}

/** Whether a failure means "not done yet, retry later" (exit 75) rather than permanent (exit 1). */
export function isRetryLater(f: Failure): boolean {
  switch (f.kind) {
    case 'gave-up':
    case 'aborted':
      return true;
    case 'listing':
      return f.problem.kind === 'count-mismatch' || f.problem.kind === 'too-slow';
    default:
      return false;
  }
}
