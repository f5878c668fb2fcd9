/**
 * What every call's result says about the call, and the options every call takes: shared
 * by the operations (kms-client.ts) and a declared rotation (rotation.ts).
 */
import type { Call, ProgressEvent } from './engine';
import type { KeySyncErrorCode } from './errors';
import { codeOf, isRetryLater, type CallPhase, type Failure } from './failure';
import type { GateNote } from './retry-policy';

/** What every result says about the call. */
export interface CallInfo {
  /** The Correlation-Id sent with every request of the call. */
  readonly correlationId: string;
  /** Requests sent to the key service. */
  readonly attempts: number;
  /** Requests sent to IAM. */
  readonly iamAttempts: number;
  /** Time spent waiting (backoff and gate), ms on the client's clock. */
  readonly waitedMs: number;
  /** Where the call was when it ended (relevant when interrupted). */
  readonly phase: CallPhase;
  /** Last HTTP status from the key service, if any. */
  readonly status?: number;
  /** Set unless the call succeeded. */
  readonly failure?: Failure;
  /** The failure is an earlier call's answer, not asked again (see engine.ts, iam-tokens.ts). */
  readonly remembered?: boolean;
  readonly code?: KeySyncErrorCode;
  /** The service's reason code, when it gave one. */
  readonly reasonCode?: string;
  /** Not done yet, try again later (exit 75) as opposed to a permanent failure (exit 1). */
  readonly retryLater: boolean;
}

export interface CallOptions {
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly onProgress?: (e: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

/** A time gate the call stopped at (or was waiting for when interrupted). */
export interface GateInfo {
  /** The earliest time the service allows the action (service clock). */
  readonly notBefore: Date;
  readonly note?: GateNote;
  /** How far away notBefore was when the call stopped, ms, on the service's clock. */
  readonly opensInMs: number;
  /** The service's clock minus ours, ms. */
  readonly clockSkewMs: number;
}

/** The call fields of a result, from the call's state. */
export function callInfo(call: Call): CallInfo {
  return {
    correlationId: call.correlationId,
    attempts: call.attempts,
    iamAttempts: call.iamAttempts,
    waitedMs: call.waitedMs,
    phase: call.phase,
    retryLater: false,
    ...(call.lastStatus === undefined ? {} : { status: call.lastStatus }),
  };
}

/** The failure fields of a result. */
export function failed(failure: Failure, remembered: boolean): Pick<CallInfo, 'failure' | 'code' | 'retryLater' | 'reasonCode' | 'remembered'> {
  const reasonCode = 'reasonCode' in failure ? failure.reasonCode : undefined;
  return {
    failure,
    code: codeOf(failure),
    retryLater: isRetryLater(failure),
    ...(remembered ? { remembered } : {}),
    ...(reasonCode === undefined ? {} : { reasonCode }),
  };
}
