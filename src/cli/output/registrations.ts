/** A registrations listing, as text lines and as the --json object. Pure. */
import type { RegistrationsResult } from '../../client/kms-client';
import { exitCodeFor } from './exit-codes';
import { describeFailure, plural, type Subject } from './words';

export interface ListingSubject {
  readonly instanceId: string;
  readonly keyId?: string;
  readonly keyRing?: string;
  readonly credentialEnv: string;
  readonly extraCaCerts: boolean;
  /** The listing was asked for by `registrations`, whose flags can narrow it. */
  readonly canNarrow?: boolean;
}

function subjectOf(s: ListingSubject): Subject {
  return { action: 'list', instanceId: s.instanceId, credentialEnv: s.credentialEnv, ...(s.keyId === undefined ? {} : { keyId: s.keyId }), ...(s.keyRing === undefined ? {} : { keyRing: s.keyRing }), ...(s.canNarrow === true ? { canNarrow: true } : {}) };
}

/** The sentence about a listing's outcome. */
export function registrationsMessage(r: RegistrationsResult, s: ListingSubject): string {
  if (r.outcome === 'listed') return `${plural(r.registrations.length, 'registration')}${s.keyId === undefined ? ' in the instance' : ' for the key'}`;
  if (r.failure === undefined) return 'the listing did not complete';
  return describeFailure(r.failure, subjectOf(s), { retryLater: r.retryLater, extraCaCerts: s.extraCaCerts, attemptsMade: r.attempts, ...(r.remembered === true ? { remembered: true } : {}) });
}

/** The --json object of a registrations listing (no registrations when it failed: never a partial list). */
export function registrationsJson(r: RegistrationsResult, s: ListingSubject): Record<string, unknown> {
  return {
    outcome: r.outcome,
    instanceId: s.instanceId,
    ...(s.keyId === undefined ? {} : { keyId: s.keyId }),
    status: r.status ?? null,
    correlationId: r.correlationId,
    attempts: r.attempts,
    iamAttempts: r.iamAttempts,
    pages: r.pages,
    count: r.registrations.length,
    ...(r.totalCount === undefined ? {} : { totalCount: r.totalCount }),
    message: registrationsMessage(r, s),
    ...(r.code === undefined ? {} : { code: r.code }),
    retryLater: r.retryLater,
    registrations: r.registrations,
    exitCode: exitCodeFor(r),
  };
}

/** Human listing: one line per registration, then a summary line; a failure is one line. */
export function registrationsText(r: RegistrationsResult, s: ListingSubject): string {
  const subject = s.keyId === undefined ? `instance ${s.instanceId}` : `key ${s.keyId} (instance ${s.instanceId})`;
  if (r.outcome !== 'listed') {
    return `key-sync: listing registrations failed, ${subject}: ${registrationsMessage(r, s)} [${r.status === undefined ? '' : `HTTP ${r.status}, `}${r.code ?? ''}, correlation id ${r.correlationId}]\n`;
  }
  // Every field was sanitized by the client when the page was read.
  const lines = r.registrations.map((g) => {
    const crn = g.resourceCrn ?? '(no CRN)';
    const key = s.keyId === undefined && g.keyId !== undefined ? `${g.keyId}  ` : '';
    const lock = g.preventKeyDeletion === true ? '  [prevents key deletion]' : '';
    return `${key}${crn}${lock}`;
  });
  lines.push(`key-sync: ${plural(r.registrations.length, 'registration')} for ${subject} (${plural(r.pages, 'page')}, correlation id ${r.correlationId})`);
  return `${lines.join('\n')}\n`;
}
