/** Sentences built from typed results (pure): the ones whose facts come from two clocks or from inference. */
import type { RotateResult } from '../../src/client/rotation';
import type { SyncResult } from '../../src/client/kms-client';
import { rotateMessage } from '../../src/cli/output/rotate';
import { syncJson, syncMessage } from '../../src/cli/output/sync';

const SUBJECT = { keyId: 'payments-root', instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', credentialEnv: 'IBMCLOUD_API_KEY', extraCaCerts: false };
const CALL = { correlationId: 'c0ffee00-0000-4000-8000-000000000000', attempts: 1, iamAttempts: 1, waitedMs: 0, phase: 'done', retryLater: false } as const;
const HOUR = 3_600_000;

describe('rotate: already rotated', () => {
  const base: RotateResult = {
    ...CALL,
    outcome: 'already-rotated',
    keyId: 'payments-root',
    generation: '2026-Q4',
    requestedAt: new Date('2026-12-02T00:02:05Z'),
    maxWaitSeconds: 900,
    allowanceMs: 300_000,
    rotatedAt: '2026-12-02T07:00:39Z',
    keyVersion: { id: 'f60ba620-0000-4000-8000-000000000000' },
    clockSkewMs: 0,
  } as RotateResult;

  test('same clocks: the request time as given', () => {
    expect(rotateMessage({ ...base, rotatedAt: '2026-12-02T00:05:00Z' }, SUBJECT)).toBe(
      'already rotated for generation 2026-Q4: last rotated at 2026-12-02 00:05:00 UTC, at or after the request at 2026-12-02 00:02:05 UTC (allowing 5 min of clock skew); version f60ba620-0000-4000-8000-000000000000; not rotated again',
    );
  });

  test("the service's clock 7 h ahead: both times on its clock, and this machine's named", () => {
    const m = rotateMessage({ ...base, clockSkewMs: 7 * HOUR }, SUBJECT);
    expect(m).toContain('last rotated at 2026-12-02 07:00:39 UTC, at or after the request at 2026-12-02 07:02:05 UTC');
    expect(m).toContain("(by the key service's clock, which is 7 h ahead of this machine's) (2026-12-02 00:02:05 UTC by this machine's; allowing 5 min of clock skew)");
  });
});

describe('sync: accepted with its answer lost', () => {
  const gate = { notBefore: new Date('2026-12-02T00:35:54Z'), opensInMs: HOUR, clockSkewMs: 0 };
  const r: SyncResult = {
    ...CALL,
    attempts: 2,
    outcome: 'synced',
    status: 409,
    reasonCode: 'REQ_TOO_EARLY_ERR',
    maxWaitSeconds: 900,
    acceptedUnanswered: { last: { kind: 'network', code: 'UND_ERR_SOCKET' }, gateStartedAt: new Date('2026-12-01T23:35:54Z'), gate },
  };

  test('says what was lost, what the gate shows, and that nothing was sent again', () => {
    expect(syncMessage(r, SUBJECT)).toBe(
      "sync accepted, its answer lost: a sync request got no answer (connection closed by the server (UND_ERR_SOCKET)), and the retry met a time gate that started at 2026-12-01 23:35:54 UTC, while that request was out (409 REQ_TOO_EARLY_ERR until 2026-12-02 00:35:54 UTC): the service accepted a sync (or a key change) then, and is re-notifying the key's associated resources; not sent again",
    );
  });

  test('--json: synced, exit 0, confirmedBy gate with both times', () => {
    expect(syncJson(r, SUBJECT)).toMatchObject({ outcome: 'synced', exitCode: 0, confirmedBy: 'gate', gateStartedAt: '2026-12-01T23:35:54.000Z', notBefore: '2026-12-02T00:35:54.000Z' });
  });
});
