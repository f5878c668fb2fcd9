/** The result of `key-sync rotate`, as a human line and as the --json object. Pure. */
import type { RotateResult } from '../../client/kms-client';
import { exitCodeFor } from './exit-codes';
import { describeFailure, requests, duration, rotationGateNoteText, serviceClockNote, utc, type Subject } from './words';

export interface RotateSubject {
  readonly keyId: string;
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly credentialEnv: string;
  /** Whether NODE_EXTRA_CA_CERTS was set when the process started. */
  readonly extraCaCerts: boolean;
}

/** A service date as printed ("2026-11-28 21:38:43 UTC"), or the raw text when it is not a date. */
function when(raw: string | undefined): string {
  if (raw === undefined) return 'an unknown time';
  const t = Date.parse(raw);
  return Number.isFinite(t) ? utc(new Date(t)) : raw;
}

function version(id: string | undefined): string {
  return id ?? 'unknown';
}

/** The one or two sentences about a rotation's outcome. */
export function rotateMessage(r: RotateResult, s: RotateSubject): string {
  const gen = `generation ${r.generation}`;
  const allowance = duration(r.allowanceMs);
  switch (r.outcome) {
    case 'rotated': {
      const change = `new version ${version(r.keyVersion?.id)} (was ${version(r.previousKeyVersion?.id)}), rotated at ${when(r.rotatedAt)}`;
      const how = r.confirmedBy === 'key-read'
        ? `the rotate request got no answer, and the key read after it shows ${change}; it was not sent again`
        : change;
      return `rotated for ${gen}: ${how}; the rotation notifies the key's associated resources itself`;
    }
    case 'already-rotated':
      // The two times are on two clocks: compare them on the service's, and say so when they differ.
      return r.clockSkewMs === 0
        ? `already rotated for ${gen}: last rotated at ${when(r.rotatedAt)}, at or after the request at ${utc(r.requestedAt)} (allowing ${allowance} of clock skew); version ${version(r.keyVersion?.id)}; not rotated again`
        : `already rotated for ${gen}: last rotated at ${when(r.rotatedAt)}, at or after the request at ${utc(new Date(r.requestedAt.getTime() + r.clockSkewMs))}${serviceClockNote(r.clockSkewMs)} (${utc(r.requestedAt)} by this machine's; allowing ${allowance} of clock skew); version ${version(r.keyVersion?.id)}; not rotated again`;
    case 'gated': {
      const g = r.gate;
      if (g === undefined) return 'rotation time gate closed; not rotated';
      const last = g.lastRotatedAt === undefined ? '' : `; last rotated at ${utc(g.lastRotatedAt)}`;
      const limit = r.maxWaitSeconds === 0 ? '--max-wait is 0 (never wait)' : `beyond --max-wait ${r.maxWaitSeconds} s`;
      return `rotation time gate closed until ${utc(g.notBefore)} (one rotation an hour${last}), in ${duration(g.opensInMs)}${serviceClockNote(g.clockSkewMs)}${rotationGateNoteText(g.note)}; ${limit}; not rotated. The next apply will retry it (Terraform taints the resource)`;
    }
    case 'failed': {
      if (r.failure === undefined) return 'not rotated';
      const subject: Subject = { action: 'rotate', instanceId: s.instanceId, keyId: s.keyId, credentialEnv: s.credentialEnv, ...(s.keyRing === undefined ? {} : { keyRing: s.keyRing }) };
      const text = describeFailure(r.failure, subject, {
        retryLater: r.retryLater,
        extraCaCerts: s.extraCaCerts,
        attemptsMade: r.attempts,
        ...(r.remembered === true ? { remembered: true } : {}),
        ...(r.gate === undefined ? {} : { gate: r.gate }),
        ...(r.unknownOutcome === true ? { outcomeUnknown: true } : {}),
      });
      return text;
    }
  }
}

/** The --json object of a rotation. */
export function rotateJson(r: RotateResult, s: RotateSubject): Record<string, unknown> {
  return {
    outcome: r.outcome,
    keyId: s.keyId,
    instanceId: s.instanceId,
    generation: r.generation,
    requestedAt: r.requestedAt.toISOString(),
    keyVersion: r.keyVersion?.id ?? null,
    keyVersionCreationDate: r.keyVersion?.creationDate ?? null,
    previousKeyVersion: r.previousKeyVersion?.id ?? null,
    rotatedAt: r.rotatedAt ?? null,
    ...(r.gate === undefined || r.outcome !== 'gated' ? {} : { notBefore: r.gate.notBefore.toISOString() }),
    ...(r.gate?.note === undefined || r.outcome !== 'gated' ? {} : { gateNote: r.gate.note }),
    status: r.status ?? null,
    correlationId: r.correlationId,
    attempts: r.attempts,
    iamAttempts: r.iamAttempts,
    waitedMs: Math.round(r.waitedMs),
    message: rotateMessage(r, s),
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.reasonCode === undefined ? {} : { reasonCode: r.reasonCode }),
    ...(r.confirmedBy === undefined ? {} : { confirmedBy: r.confirmedBy }),
    ...(r.unknownOutcome === true ? { unknownOutcome: true } : {}),
    ...(r.failure?.kind === 'not-rotatable' ? { notRotatable: r.failure.why.reason } : {}),
    service: r.service ?? null,
    allowanceSeconds: Math.round(r.allowanceMs / 1000),
    retryLater: r.retryLater,
    exitCode: exitCodeFor(r),
  };
}

/** The human line of a rotation result. */
export function rotateLine(r: RotateResult, s: RotateSubject): string {
  const meta = [
    r.status === undefined ? undefined : `HTTP ${r.status}`,
    r.reasonCode,
    r.code,
    `correlation id ${r.correlationId}`,
    requests(r.attempts),
    r.waitedMs >= 1000 ? `waited ${duration(r.waitedMs)}` : undefined,
  ].filter((x) => x !== undefined).join(', ');
  const subject = `key ${s.keyId} (instance ${s.instanceId})`;
  const message = rotateMessage(r, s);
  switch (r.outcome) {
    case 'rotated':
      return `key-sync: rotated ${subject}: ${message} [${meta}]`;
    case 'already-rotated':
      return `key-sync: nothing to rotate, ${subject}: ${message} [${meta}]`;
    case 'gated':
      return `key-sync: not rotated yet, ${subject}: ${message} [${meta}]`;
    case 'failed':
      return r.code === 'KS_ABORTED'
        ? `key-sync: interrupted, ${subject}: ${message} [${meta}]`
        : `key-sync: rotation failed, ${subject}: ${message} [${meta}]`;
  }
}
