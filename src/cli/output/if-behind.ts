/** What `sync --if-behind` says about the keys it leaves alone, and about keys whose status could not be read. Pure. */
import type { CallInfo, SyncResult } from '../../client/kms-client';
import type { KeyStatus } from '../status-runner';
import { verdictSentence, type StatusContext } from './status';

/** The one line for a key that is not synced because it is not behind. */
export function skippedLine(k: KeyStatus, c: StatusContext): string {
  return `key-sync: not synced (not needed), key ${k.keyId} (instance ${c.instanceId}): ${verdictSentence(k, c)}; --if-behind syncs only keys that are behind [verdict ${k.status?.verdict ?? 'unknown'}]`;
}

/** The --json object of such a key: outcome `skipped`, with its verdict. */
export function skippedJson(k: KeyStatus, c: StatusContext): Record<string, unknown> {
  return {
    outcome: 'skipped',
    keyId: k.keyId,
    instanceId: c.instanceId,
    verdict: k.status?.verdict ?? 'unknown',
    registrations: k.status?.registrations ?? null,
    onCurrentVersion: k.status?.onCurrentVersion ?? null,
    message: `${verdictSentence(k, c)}; --if-behind syncs only keys that are behind`,
    retryLater: false,
    exitCode: 0,
  };
}

/**
 * A key whose status could not be read is not synced, and says why with the exit code of
 * that failure (a guess either way would be wrong: syncing blindly, or reporting success).
 */
export function statusFailure(call: (CallInfo & { readonly what: string }) | undefined, maxWaitSeconds: number): SyncResult {
  return {
    outcome: 'failed',
    correlationId: call?.correlationId ?? '',
    attempts: call?.attempts ?? 0,
    iamAttempts: call?.iamAttempts ?? 0,
    waitedMs: call?.waitedMs ?? 0,
    phase: call?.phase ?? 'done',
    maxWaitSeconds,
    retryLater: call?.retryLater ?? false,
    ...(call?.status === undefined ? {} : { status: call.status }),
    ...(call?.failure === undefined ? { failure: { kind: 'internal', name: 'no status' } } : { failure: call.failure }),
    ...(call?.code === undefined ? {} : { code: call.code }),
    ...(call?.reasonCode === undefined ? {} : { reasonCode: call.reasonCode }),
    ...(call?.remembered === true ? { remembered: true } : {}),
  };
}
