/** The result of one key's sync, as a human line and as the --json object. Pure. */
import type { SyncResult } from '../../client/kms-client';
import { exitCodeFor } from './exit-codes';
import { attempts, describeFailure, describeLast, duration, gatedSyncMessage, utc, type Subject } from './words';

/** A service date as printed, or the raw text when it is not a date. */
function when(raw: string): string {
  const t = Date.parse(raw);
  return Number.isFinite(t) ? utc(new Date(t)) : raw;
}

export interface SyncSubject {
  readonly keyId: string;
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly credentialEnv: string;
  /** Whether NODE_EXTRA_CA_CERTS was set when the process started. */
  readonly extraCaCerts: boolean;
  /** Set with --verify-registrations. */
  readonly registrations?: number;
}

/** The one or two sentences about a sync's outcome. */
export function syncMessage(r: SyncResult, s: SyncSubject): string {
  switch (r.outcome) {
    case 'synced': {
      const n = r.notifiedByRotation;
      if (n !== undefined) {
        return `the key was rotated at ${when(n.rotatedAt)} for its declared rotation${n.keyVersion?.id === undefined ? '' : ` (version ${n.keyVersion.id})`}, and that rotation notified its associated resources; the service refuses a sync for the hour after a rotation (409 REQ_TOO_EARLY_ERR until ${utc(n.gate.notBefore)}), so there is nothing left to do`;
      }
      const a = r.acceptedUnanswered;
      if (a !== undefined) {
        return `sync accepted, its answer lost: a sync request got no answer (${describeLast(a.last)}), and the retry met a time gate that started at ${utc(a.gateStartedAt)}, while that request was out (409 REQ_TOO_EARLY_ERR until ${utc(a.gate.notBefore)}): the service accepted a sync (or a key change) then, and is re-notifying the key's associated resources; not sent again`;
      }
      return `sync accepted (${r.status ?? 204}): the service is re-notifying the key's associated resources`;
    }
    case 'gated':
      return r.gate === undefined ? 'sync time gate closed; not synced' : gatedSyncMessage(r.gate, r.maxWaitSeconds);
    case 'failed': {
      if (r.failure === undefined) return 'not synced';
      const subject: Subject = { action: 'sync', instanceId: s.instanceId, keyId: s.keyId, credentialEnv: s.credentialEnv, ...(s.keyRing === undefined ? {} : { keyRing: s.keyRing }) };
      return describeFailure(r.failure, subject, {
        retryLater: r.retryLater,
        extraCaCerts: s.extraCaCerts,
        attemptsMade: r.attempts,
        ...(r.remembered === true ? { remembered: true } : {}),
        ...(r.gate === undefined ? {} : { gate: r.gate }),
      });
    }
  }
}

/** The --json object of a sync. */
export function syncJson(r: SyncResult, s: SyncSubject): Record<string, unknown> {
  return {
    outcome: r.outcome,
    keyId: s.keyId,
    instanceId: s.instanceId,
    status: r.status ?? null,
    correlationId: r.correlationId,
    attempts: r.attempts,
    iamAttempts: r.iamAttempts,
    ...(r.gate === undefined || r.outcome === 'synced' ? {} : { notBefore: r.gate.notBefore.toISOString() }),
    ...(r.gate?.note === undefined || r.outcome === 'synced' ? {} : { gateNote: r.gate.note }),
    waitedMs: Math.round(r.waitedMs),
    message: syncMessage(r, s),
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.reasonCode === undefined ? {} : { reasonCode: r.reasonCode }),
    retryLater: r.retryLater,
    ...(s.registrations === undefined ? {} : { registrations: s.registrations }),
    ...(r.acceptedUnanswered === undefined ? {} : { confirmedBy: 'gate', gateStartedAt: r.acceptedUnanswered.gateStartedAt.toISOString(), notBefore: r.acceptedUnanswered.gate.notBefore.toISOString() }),
    ...(r.notifiedByRotation === undefined ? {} : { notifiedByRotation: true, rotatedAt: r.notifiedByRotation.rotatedAt, notBefore: r.notifiedByRotation.gate.notBefore.toISOString() }),
    exitCode: exitCodeFor(r),
  };
}

/** The human line of a sync result. */
export function syncLine(r: SyncResult, s: SyncSubject): string {
  const meta = [
    r.status === undefined ? undefined : `HTTP ${r.status}`,
    // The service's own reason code, so a search of CI logs for IBM's code finds it.
    r.reasonCode,
    r.code,
    `correlation id ${r.correlationId}`,
    attempts(r.attempts),
    r.waitedMs >= 1000 ? `waited ${duration(r.waitedMs)}` : undefined,
  ].filter((x) => x !== undefined).join(', ');
  const subject = `key ${s.keyId} (instance ${s.instanceId})`;
  const message = syncMessage(r, s);
  switch (r.outcome) {
    case 'synced':
      return r.notifiedByRotation === undefined
        ? `key-sync: synced ${subject}: ${message} [${meta}]`
        : `key-sync: no sync needed, ${subject}: ${message} [${meta}]`;
    case 'gated':
      return `key-sync: not synced yet, ${subject}: ${message} [${meta}]`;
    case 'failed':
      return r.code === 'KS_ABORTED'
        ? `key-sync: interrupted, ${subject}: ${message} [${meta}]`
        : `key-sync: sync failed, ${subject}: ${message} [${meta}]`;
  }
}
