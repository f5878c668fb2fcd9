/**
 * A declared rotation (`key-sync rotate`), on the attempt engine: read the key, decide
 * (rotation-policy.ts), wait for the once-an-hour gate within --max-wait, then POST
 * .../actions/rotate once. The POST is not idempotent (every version is billed), so it is
 * never repeated blind: after a timeout, a reset or a 5xx the key is read again, and a
 * new version (or a rotation since the request) means it was done. Only a read showing
 * no rotation lets the POST be sent again; the service's own one-an-hour limit then
 * stops a rotation that landed late from happening twice. Typed results only.
 */
import type { KmsService } from '../domain/endpoints';
import type { Call, Engine, Exchange } from './engine';
import type { Failure, LastOutcome } from './failure';
import { waitForGate } from './gate-wait';
import type { CallInfo, CallOptions, GateInfo } from './call-info';
import type { KeyInfo, KeyVersion } from './resources';
import { backoffDelay, gateDecision, type GateNote, type RetryLimits } from './retry-policy';
import {
  planRotation,
  refusedRotationGate,
  rotatedSinceRequest,
  ROTATION_GATE_REASON_CODE,
  ROTATION_SKEW_ALLOWANCE_MS,
  serviceOfKey,
  type RotationRequest,
} from './rotation-policy';
import { AbortedError, isAborted } from './transport';

export interface RotateOptions extends CallOptions {
  /** The declared generation (reported back; the decision rests on requestedAt). */
  readonly generation: string;
  /** When the generation was first requested (Terraform's plantimestamp(), kept across retries). */
  readonly requestedAt: Date;
  /** --max-wait: how long the call may wait for the rotation gate, from its start; 0 = never. */
  readonly maxWaitSeconds: number;
  /** The service as the endpoint tells it; the key's CRN, when it names one, wins. */
  readonly service?: KmsService;
}

export interface RotateResult extends CallInfo {
  readonly outcome: 'rotated' | 'already-rotated' | 'gated' | 'failed';
  readonly keyId: string;
  readonly generation: string;
  readonly requestedAt: Date;
  readonly maxWaitSeconds: number;
  /** A rotation this long before requestedAt still counts as the one requested, ms. */
  readonly allowanceMs: number;
  /** Which service's rules were applied (from the key's CRN, else the endpoint). */
  readonly service?: KmsService | 'unknown';
  /** The key's version as first read. */
  readonly previousKeyVersion?: KeyVersion;
  /** The key's version at the end (the new one after a rotation). */
  readonly keyVersion?: KeyVersion;
  /** The key's lastRotateDate at the end, as the service printed it. */
  readonly rotatedAt?: string;
  /** When gated (or interrupted in a gate wait). */
  readonly gate?: GateInfo & { readonly lastRotatedAt?: Date };
  /** rotated: the service's 204, or a key read after an unanswered rotate request. */
  readonly confirmedBy?: 'answer' | 'key-read';
  /** failed after a rotate request went unanswered and no read could tell: it may or may not have rotated. */
  readonly unknownOutcome?: boolean;
  /** The service's clock minus ours at the first read, ms. */
  readonly clockSkewMs: number;
}

/** A key read inside a call. */
export type KeyRead =
  | { readonly ok: true; readonly key: KeyInfo; readonly skewMs: number }
  | { readonly ok: false; readonly failure: Failure; readonly remembered: boolean };

/** What the rotation needs from the client. */
export interface RotationDeps {
  readonly engine: Engine;
  readonly now: () => number;
  readonly random: () => number;
  readonly limits: RetryLimits;
  readonly progressIntervalMs: number;
  /** The key service's endpoint as messages show it. */
  readonly endpoint: string;
  newCall(opts: CallOptions): Call;
  callInfo(call: Call): CallInfo;
  failed(failure: Failure, remembered: boolean): Pick<CallInfo, 'failure' | 'code' | 'retryLater' | 'reasonCode' | 'remembered'>;
  readKey(call: Call, keyId: string, opts: CallOptions): Promise<KeyRead>;
  rotateExchange(call: Call, keyId: string, opts: CallOptions): Exchange;
}

/** Rotates `keyId` once for the request in `opts`. Never throws for HTTP outcomes. */
export async function runRotation(deps: RotationDeps, keyId: string, opts: RotateOptions): Promise<RotateResult> {
  const call = deps.newCall(opts);
  const maxWaitSeconds = Math.max(0, opts.maxWaitSeconds);
  const maxWaitMs = maxWaitSeconds * 1000;
  let skew0 = 0;
  let service: KmsService | 'unknown' | undefined;
  let previous: KeyVersion | undefined;
  let current: KeyInfo | undefined;
  let gate: RotateResult['gate'];
  /** Rotate requests sent whose answer did not come (timeout, reset, 5xx). */
  let unanswered = 0;
  /** HTTP status of the last rotate request answered (the call's status; none when none was answered). */
  let rotateStatus: number | undefined;
  const done = (r: Pick<RotateResult, 'outcome'> & Partial<RotateResult>): RotateResult => ({
    // The call's status is its rotate request's: a key read's 200 says nothing about the rotation.
    ...withoutStatus(deps.callInfo(call)),
    keyId,
    generation: opts.generation,
    requestedAt: opts.requestedAt,
    maxWaitSeconds,
    allowanceMs: ROTATION_SKEW_ALLOWANCE_MS,
    clockSkewMs: skew0,
    ...(service === undefined ? {} : { service }),
    ...(previous === undefined ? {} : { previousKeyVersion: previous }),
    ...(current?.keyVersion === undefined ? {} : { keyVersion: current.keyVersion }),
    ...(current?.lastRotateDate === undefined ? {} : { rotatedAt: current.lastRotateDate }),
    ...(gate === undefined ? {} : { gate }),
    ...(rotateStatus === undefined ? {} : { status: rotateStatus }),
    ...r,
  });
  const fail = (failure: Failure, remembered: boolean, unknownOutcome = false): RotateResult =>
    done({ outcome: 'failed', ...deps.failed(failure, remembered), ...(unknownOutcome ? { unknownOutcome: true, retryLater: true } : {}) });

  try {
    call.phase = 'reading-key';
    const first = await deps.readKey(call, keyId, opts);
    if (!first.ok) return fail(first.failure, first.remembered);
    current = first.key;
    skew0 = first.skewMs;
    previous = first.key.keyVersion;
    service = serviceOfKey(first.key, opts.service);
    const request: RotationRequest = { requestedAtMs: opts.requestedAt.getTime(), skewMs: skew0 };
    let skew = skew0;
    /** The last rotate request was refused with the rotation gate (409). */
    let refused409 = false;

    for (;;) {
      // 1. Decide from the key as last read.
      const step = planRotation(current, request, deps.now() + skew, service);
      let notBefore: Date | undefined;
      let note: GateNote | undefined;
      let lastRotatedAt: number | undefined;
      switch (step.kind) {
        case 'refuse':
          return fail({ kind: 'not-rotatable', keyId, why: step.why }, false);
        case 'done': {
          call.phase = 'done';
          // After an unanswered request, a rotation seen now is most likely that request's.
          const ours = unanswered > 0 && current.keyVersion?.id !== previous?.id;
          return done({ outcome: ours ? 'rotated' : 'already-rotated', retryLater: false, ...(ours ? { confirmedBy: 'key-read' as const } : {}) });
        }
        case 'gated':
          notBefore = step.notBefore;
          lastRotatedAt = step.lastRotatedAt;
          break;
        case 'rotate':
          if (refused409) {
            // The key says the gate is open; the service said it is not.
            const g = refusedRotationGate(current, deps.now() + skew);
            notBefore = g.notBefore;
            note = g.note;
          }
          break;
      }

      // 2. The gate: wait for it within --max-wait, or stop (exit 75).
      if (notBefore !== undefined) {
        const serverNow = deps.now() + skew;
        gate = {
          notBefore,
          ...(note === undefined ? {} : { note }),
          opensInMs: notBefore.getTime() - serverNow,
          clockSkewMs: skew,
          ...(lastRotatedAt === undefined ? {} : { lastRotatedAt: new Date(lastRotatedAt) }),
        };
        const d = gateDecision(notBefore, { now: serverNow, start: call.start + skew, maxWaitMs, gateWaits: call.gateWaits });
        if (d.kind === 'stop') {
          return done({ outcome: 'gated', code: 'KS_GATED', retryLater: true, ...(refused409 ? { reasonCode: ROTATION_GATE_REASON_CODE } : {}) });
        }
        call.gateWaits++;
        await waitForGate(deps.engine, call, { gate: 'rotation', notBefore, untilMs: d.untilMs - skew, maxWaitEnd: call.start + maxWaitMs, skewMs: skew, ...(note === undefined ? {} : { note }) }, deps.progressIntervalMs);
        call.budget.restart(deps.now());
      }

      // 3. One rotate request.
      refused409 = false;
      const before = call.lastStatus;
      call.lastStatus = undefined;
      const r = await deps.engine.run(deps.rotateExchange(call, keyId, opts), call);
      rotateStatus = call.lastStatus ?? rotateStatus;
      if (call.lastStatus === undefined) call.lastStatus = before;
      switch (r.kind) {
        case 'done': {
          // The answer is the proof; the read only reports the new version.
          call.phase = 'reading-key';
          const after = await deps.readKey(call, keyId, opts);
          if (after.ok) current = after.key;
          call.phase = 'done';
          return done({ outcome: 'rotated', retryLater: false, confirmedBy: 'answer' });
        }
        case 'gated':
          // The rotate exchange has no sync gate.
          throw new Error('internal: a rotate request came back gated');
        case 'fail': {
          const f = r.failure;
          if (f.kind === 'refused' && f.status === 409 && f.reasonCode === ROTATION_GATE_REASON_CODE) {
            // Rotated within the hour: by whom, and until when, the key tells.
            refused409 = true;
            call.phase = 'reading-key';
            const again = await deps.readKey(call, keyId, opts);
            if (!again.ok) return fail(again.failure, again.remembered, unanswered > 0);
            current = again.key;
            skew = again.skewMs;
            continue;
          }
          return fail(f, r.remembered, unanswered > 0);
        }
        case 'uncertain': {
          unanswered++;
          call.onProgress?.({ kind: 'rotation-check', last: r.last });
          call.phase = 'reading-key';
          const again = await deps.readKey(call, keyId, opts);
          if (!again.ok) return fail(again.failure, again.remembered, true);
          current = again.key;
          skew = again.skewMs;
          if (current.keyVersion?.id !== previous?.id || rotatedSinceRequest(current, request)) {
            call.phase = 'done';
            return done({ outcome: 'rotated', retryLater: false, confirmedBy: 'key-read' });
          }
          // Not rotated: the request may be sent again, within the transient budget.
          const retry = retryAfterUnanswered(deps, call, r.last);
          // The read after the last request showed no rotation: not rotated (exit 75).
          if (retry.kind === 'give-up') return fail(retry.failure, false);
          call.budget.spendRetry();
          call.onProgress?.({ kind: 'backoff', what: 'rotate', endpoint: retry.endpoint, delayMs: retry.delayMs, attempt: call.budget.retriesUsed, maxAttempts: deps.limits.maxRetries + 1, cause: r.last });
          call.phase = 'backoff';
          await deps.engine.sleep(call, retry.delayMs);
          // The key was just read: straight back to the request (the gate was open).
          continue;
        }
      }
    }
  } catch (e) {
    if (e instanceof AbortedError || isAborted(opts.signal)) {
      // Interrupted with a rotate request out: it may or may not have been acted on.
      const inFlight = call.phase === 'request' && call.attempts > 0;
      return fail({ kind: 'aborted', phase: call.phase }, false, inFlight || unanswered > 0);
    }
    throw e;
  }
}

function withoutStatus(info: CallInfo): CallInfo {
  const { status: _read, ...rest } = info;
  return rest;
}

/** Whether an unanswered rotate request (the key read shows no rotation) may be sent again now. */
function retryAfterUnanswered(
  deps: RotationDeps,
  call: Call,
  last: LastOutcome,
): { kind: 'retry'; delayMs: number; endpoint: string } | { kind: 'give-up'; failure: Failure } {
  const endpoint = deps.endpoint;
  const now = deps.now();
  const delayMs = backoffDelay(call.budget.retriesUsed, deps.random, deps.limits);
  const why = call.budget.retriesUsed >= deps.limits.maxRetries ? 'attempts' : now + delayMs > call.budget.windowStart + deps.limits.budgetMs ? 'deadline' : undefined;
  if (why === undefined) return { kind: 'retry', delayMs, endpoint };
  return {
    kind: 'give-up',
    failure: { kind: 'gave-up', service: 'key-service', endpoint, why, attempts: call.attempts, budgetMs: deps.limits.budgetMs, last, reachedKeyService: true },
  };
}
