/**
 * The pure decisions of a declared rotation, with injected times: refuse / done / gated /
 * rotate, the clock-skew allowance, the gate after a refused rotation, the service from a
 * key's CRN, and whether a gated sync was gated by the rotation made for the request.
 */
import type { KeyInfo } from '../../src/client/resources';
import {
  doneThreshold,
  notifiedByRotation,
  planRotation,
  refusedRotationGate,
  rotatesInState,
  rotatedSinceRequest,
  ROTATION_GATE_MS,
  ROTATION_SKEW_ALLOWANCE_MS,
  serviceOfKey,
  SYNC_GATE_AFTER_ROTATION_MAX_MS,
  type RotationRequest,
  type RotationStep,
} from '../../src/client/rotation-policy';
import { GATE_MARGIN_MS } from '../../src/client/retry-policy';

const T = Date.parse('2026-11-28T20:00:00Z');
const MIN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const KP_CRN = 'crn:v1:bluemix:public:kms:us-south:a/1234567890abcdef1234567890abcdef:0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20:key:4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const HPCS_CRN = 'crn:v1:bluemix:public:hs-crypto:us-south:a/1234567890abcdef1234567890abcdef:6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73:key:c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9';

function key(extra: Partial<KeyInfo> = {}): KeyInfo {
  return { id: 'k', state: 1, extractable: false, imported: false, keyVersion: { id: 'v1' }, ...extra };
}
const req = (requestedAtMs: number, skewMs = 0): RotationRequest => ({ requestedAtMs, skewMs });

describe('planRotation', () => {
  test.each<[string, KeyInfo, RotationRequest, number, 'key-protect' | 'hpcs' | 'unknown', RotationStep]>([
    ['never rotated: rotate (the first rotation is free)', key(), req(T), T, 'key-protect', { kind: 'rotate' }],
    ['rotated 2 h before the request: rotate', key({ lastRotateDate: iso(T - 120 * MIN) }), req(T), T + MIN, 'key-protect', { kind: 'rotate' }],
    ['rotated after the request: done', key({ lastRotateDate: iso(T + 10 * MIN) }), req(T), T + 20 * MIN, 'key-protect', { kind: 'done', rotatedAt: T + 10 * MIN }],
    ['rotated exactly at the request: done', key({ lastRotateDate: iso(T) }), req(T), T + MIN, 'key-protect', { kind: 'done', rotatedAt: T }],
    ['rotated 4 min 59 s before the request: done (allowance)', key({ lastRotateDate: iso(T - 5 * MIN + 1000) }), req(T), T, 'key-protect', { kind: 'done', rotatedAt: T - 5 * MIN + 1000 }],
    ['rotated 5 min 1 s before the request: gated until it + 1 h', key({ lastRotateDate: iso(T - 5 * MIN - 1000) }), req(T), T, 'key-protect', { kind: 'gated', notBefore: new Date(T - 5 * MIN - 1000 + ROTATION_GATE_MS), lastRotatedAt: T - 5 * MIN - 1000 }],
    ['rotated 30 min ago, request now: gated 30 min', key({ lastRotateDate: iso(T - 30 * MIN) }), req(T), T, 'key-protect', { kind: 'gated', notBefore: new Date(T + 30 * MIN), lastRotatedAt: T - 30 * MIN }],
    ['gate just open (service clock): rotate', key({ lastRotateDate: iso(T - 60 * MIN) }), req(T), T, 'key-protect', { kind: 'rotate' }],
    // the service's clock is 10 min ahead of ours: the request at 20:00 is 20:10 on its clock
    ['service clock 10 min ahead: a rotation at 20:04 (its clock) is 6 min before the request', key({ lastRotateDate: iso(T + 4 * MIN) }), req(T, 10 * MIN), T + 9 * MIN, 'key-protect', { kind: 'gated', notBefore: new Date(T + 64 * MIN), lastRotatedAt: T + 4 * MIN }],
    ['service clock 10 min behind: a rotation 8 min before (service clock) is after the request', key({ lastRotateDate: iso(T - 8 * MIN) }), req(T, -10 * MIN), T - 7 * MIN, 'key-protect', { kind: 'done', rotatedAt: T - 8 * MIN }],
    ['standard key: refused', key({ extractable: true }), req(T), T, 'key-protect', { kind: 'refuse', why: { reason: 'standard-key' } }],
    ['standard key rotated since (impossible, still refused)', key({ extractable: true, lastRotateDate: iso(T + MIN) }), req(T), T, 'key-protect', { kind: 'refuse', why: { reason: 'standard-key' } }],
    ['suspended: refused', key({ state: 2 }), req(T), T, 'key-protect', { kind: 'refuse', why: { reason: 'state', state: 2, service: 'key-protect' } }],
    ['destroyed: refused', key({ state: 5 }), req(T), T, 'hpcs', { kind: 'refuse', why: { reason: 'state', state: 5, service: 'hpcs' } }],
    ['pre-active: refused', key({ state: 0 }), req(T), T, 'unknown', { kind: 'refuse', why: { reason: 'state', state: 0, service: 'unknown' } }],
    ['deactivated on Key Protect: rotate', key({ state: 3 }), req(T), T, 'key-protect', { kind: 'rotate' }],
    ['deactivated on HPCS: refused', key({ state: 3 }), req(T), T, 'hpcs', { kind: 'refuse', why: { reason: 'state', state: 3, service: 'hpcs' } }],
    ['deactivated, service unknown: rotate (the service refuses it itself if it must)', key({ state: 3 }), req(T), T, 'unknown', { kind: 'rotate' }],
    ['suspended but rotated since the request: done (the generation got its rotation)', key({ state: 2, lastRotateDate: iso(T + MIN) }), req(T), T + 2 * MIN, 'key-protect', { kind: 'done', rotatedAt: T + MIN }],
    ['imported: refused', key({ imported: true }), req(T), T, 'key-protect', { kind: 'refuse', why: { reason: 'imported' } }],
    ['imported, rotated by hand since the request: done', key({ imported: true, lastRotateDate: iso(T + MIN) }), req(T), T + 2 * MIN, 'key-protect', { kind: 'done', rotatedAt: T + MIN }],
    ['unparseable lastRotateDate: as never rotated', key({ lastRotateDate: 'yesterday' }), req(T), T, 'key-protect', { kind: 'rotate' }],
    ['no state, no extractable in the answer: rotate (the service decides)', { id: 'k' }, req(T), T, 'unknown', { kind: 'rotate' }],
  ])('%s', (_n, k, r, serverNow, service, expected) => {
    expect(planRotation(k, r, serverNow, service)).toEqual(expected);
  });

  test('the allowance is 5 minutes, and the threshold is the request on the service clock minus it', () => {
    expect(ROTATION_SKEW_ALLOWANCE_MS).toBe(300_000);
    expect(doneThreshold(req(T, 7000))).toBe(T + 7000 - 300_000);
    expect(doneThreshold({ requestedAtMs: T, skewMs: 0, allowanceMs: 0 })).toBe(T);
  });

  test('rotatedSinceRequest follows the same rule', () => {
    expect(rotatedSinceRequest(key({ lastRotateDate: iso(T - 4 * MIN) }), req(T))).toBe(true);
    expect(rotatedSinceRequest(key({ lastRotateDate: iso(T - 6 * MIN) }), req(T))).toBe(false);
    expect(rotatedSinceRequest(key(), req(T))).toBe(false);
  });
});

describe('states and services', () => {
  test.each<[number, 'key-protect' | 'hpcs' | 'unknown', boolean]>([
    [1, 'key-protect', true], [1, 'hpcs', true], [1, 'unknown', true],
    [3, 'key-protect', true], [3, 'hpcs', false], [3, 'unknown', true],
    [0, 'key-protect', false], [2, 'key-protect', false], [2, 'hpcs', false], [5, 'key-protect', false], [5, 'unknown', false],
  ])('state %i on %s: %s', (state, service, ok) => {
    expect(rotatesInState(state, service)).toBe(ok);
  });

  test.each<[string | undefined, 'key-protect' | 'hpcs' | undefined, string]>([
    [KP_CRN, undefined, 'key-protect'],
    [HPCS_CRN, undefined, 'hpcs'],
    [HPCS_CRN, 'key-protect', 'hpcs'], // the key's CRN wins over the endpoint's hint
    [undefined, 'hpcs', 'hpcs'],
    ['crn:v1:bluemix:public:other:us-south:a/x:y:key:z', 'key-protect', 'key-protect'],
    [undefined, undefined, 'unknown'],
  ])('CRN %s, hint %s: %s', (crn, hint, expected) => {
    expect(serviceOfKey(key(crn === undefined ? {} : { crn }), hint)).toBe(expected);
  });
});

describe('refusedRotationGate: the 409 names no time, the key does', () => {
  test.each<[string, KeyInfo, number, { notBefore: Date; note?: string }]>([
    ['rotated 20 min ago: lastRotateDate + 1 h', key({ lastRotateDate: iso(T - 20 * MIN) }), T, { notBefore: new Date(T + 40 * MIN) }],
    ['lastRotateDate + 1 h passed: shortly, noted', key({ lastRotateDate: iso(T - 61 * MIN) }), T, { notBefore: new Date(T + GATE_MARGIN_MS), note: 'time-in-the-past' }],
    ['no lastRotateDate: shortly, noted', key(), T, { notBefore: new Date(T + GATE_MARGIN_MS), note: 'no-time-in-message' }],
  ])('%s', (_n, k, now, expected) => {
    expect(refusedRotationGate(k, now)).toEqual(expected);
  });
});

describe('notifiedByRotation: a sync gated by the rotation made for the request', () => {
  const rotated = T + 2 * MIN;
  test.each<[string, KeyInfo, RotationRequest, Date, boolean]>([
    ['rotated for the request, gate an hour after it: notified', key({ lastRotateDate: iso(rotated) }), req(T), new Date(rotated + ROTATION_GATE_MS), true],
    ['gate up to 1 h 5 min after the rotation: notified', key({ lastRotateDate: iso(rotated) }), req(T), new Date(rotated + SYNC_GATE_AFTER_ROTATION_MAX_MS), true],
    ['gate later than that (a sync or action after the rotation): not', key({ lastRotateDate: iso(rotated) }), req(T), new Date(rotated + SYNC_GATE_AFTER_ROTATION_MAX_MS + 1000), false],
    ['last rotation before the request (an older generation): not', key({ lastRotateDate: iso(T - 30 * MIN) }), req(T), new Date(T + 30 * MIN), false],
    ['never rotated: not', key(), req(T), new Date(T + 30 * MIN), false],
  ])('%s', (_n, k, r, gate, expected) => {
    expect(notifiedByRotation(k, r, gate)).toBe(expected);
  });
});
