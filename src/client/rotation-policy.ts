/**
 * Pure decisions of a declared rotation (`key-sync rotate`) and of a sync that runs
 * after it. No I/O and no clock: every function takes the times it needs, so the rules
 * are table-tested (test/unit/rotation-policy.test.ts).
 *
 * - {@link planRotation}: from the key as read, refuse (not rotatable), done (already
 *   rotated for this request), gated (one rotation an hour) or rotate.
 * - {@link refusedRotationGate}: when the service says 409 KEY_ROTATION_NOT_PERMITTED,
 *   when it opens (its message names no time: the key's lastRotateDate + 1 h).
 * - {@link notifiedByRotation}: whether a sync refused by the time gate was refused
 *   because of the rotation made for this request, which already notified the key's
 *   associated resources.
 *
 * Times from the service (lastRotateDate, the gate) are on its clock; the requested-at
 * time is on the clock of the machine that ran `terraform plan`. `skewMs` (the service's
 * clock minus ours, from its Date header) brings the second onto the first, on the
 * assumption that the machine that planned is the one running key-sync (or keeps the
 * same time); {@link ROTATION_SKEW_ALLOWANCE_MS} covers what remains.
 */
import type { KmsService } from '../domain/endpoints';
import type { NotRotatable } from './failure';
import type { KeyInfo } from './resources';
import { GATE_MARGIN_MS, type GateNote } from './retry-policy';

/** The service allows one rotation of a key an hour. */
export const ROTATION_GATE_MS = 3_600_000;

/**
 * A rotation up to this long before the requested-at time still counts as the one
 * requested: the planning machine's clock and the service's may disagree by that much
 * (after the Date-header correction), and the key's two rotation dates can differ by a
 * minute. Five minutes: a double rotation costs money (every version is billed), a
 * rotation a few minutes before the request is, for the user, the rotation they asked for.
 */
export const ROTATION_SKEW_ALLOWANCE_MS = 5 * 60_000;

/** The reason code of the once-an-hour rotation limit (409). */
export const ROTATION_GATE_REASON_CODE = 'KEY_ROTATION_NOT_PERMITTED';

/** A sync gate this much after a rotation (or less) is the rotation's own (about an hour). */
export const SYNC_GATE_AFTER_ROTATION_MAX_MS = ROTATION_GATE_MS + ROTATION_SKEW_ALLOWANCE_MS;

/**
 * The service a key belongs to, from its CRN's service-name field (`kms`: Key Protect,
 * `hs-crypto`: HPCS); else `hint` (from the endpoint or the flags); else unknown.
 */
export function serviceOfKey(key: KeyInfo, hint?: KmsService): KmsService | 'unknown' {
  const field = key.crn?.split(':')[4];
  if (field === 'kms') return 'key-protect';
  if (field === 'hs-crypto') return 'hpcs';
  return hint ?? 'unknown';
}

/**
 * States a rotation is accepted in: Key Protect rotates active (1) and deactivated (3)
 * keys, HPCS active keys only; a service we could not tell is given the benefit of the
 * doubt for 3 (it refuses with a 409 itself).
 */
export function rotatesInState(state: number, service: KmsService | 'unknown'): boolean {
  return state === 1 || (state === 3 && service !== 'hpcs');
}

/** When the key was last rotated (epoch ms on the service's clock), if it ever was. */
export function rotatedAtOf(key: KeyInfo): number | undefined {
  if (key.lastRotateDate === undefined) return undefined;
  const t = Date.parse(key.lastRotateDate);
  return Number.isFinite(t) ? t : undefined;
}

/** The requested-at time and clock facts a decision needs. */
export interface RotationRequest {
  /** When the generation was first requested, epoch ms on the planning machine's clock. */
  readonly requestedAtMs: number;
  /** The service's clock minus ours (from the first key read's Date header), ms. */
  readonly skewMs: number;
  readonly allowanceMs?: number;
}

/** The requested-at time on the service's clock, less the allowance: a rotation at or after this is the one requested. */
export function doneThreshold(r: RotationRequest): number {
  return r.requestedAtMs + r.skewMs - (r.allowanceMs ?? ROTATION_SKEW_ALLOWANCE_MS);
}

/** Whether the key was rotated at or after the request (within the allowance). */
export function rotatedSinceRequest(key: KeyInfo, r: RotationRequest): boolean {
  const at = rotatedAtOf(key);
  return at !== undefined && at >= doneThreshold(r);
}

export type RotationStep =
  | { readonly kind: 'refuse'; readonly why: NotRotatable }
  /** Rotated at `rotatedAt` (service clock), at or after the request: nothing to do. */
  | { readonly kind: 'done'; readonly rotatedAt: number }
  /** Rotated less than an hour ago: the next rotation is allowed at `notBefore` (service clock). */
  | { readonly kind: 'gated'; readonly notBefore: Date; readonly lastRotatedAt: number }
  | { readonly kind: 'rotate' };

/**
 * What to do for a key as read. Checked in this order: a standard key is refused (it can
 * never rotate); a key rotated since the request is done, whatever its state now (the
 * generation got its rotation: refusing would fail a finished job); then a state the
 * service does not rotate in, imported material, and the once-an-hour gate.
 * `serverNow`: now on the service's clock.
 */
export function planRotation(key: KeyInfo, r: RotationRequest, serverNow: number, service: KmsService | 'unknown'): RotationStep {
  if (key.extractable === true) return { kind: 'refuse', why: { reason: 'standard-key' } };
  const at = rotatedAtOf(key);
  if (at !== undefined && at >= doneThreshold(r)) return { kind: 'done', rotatedAt: at };
  if (key.state !== undefined && !rotatesInState(key.state, service)) return { kind: 'refuse', why: { reason: 'state', state: key.state, service } };
  if (key.imported === true) return { kind: 'refuse', why: { reason: 'imported' } };
  if (at !== undefined && serverNow < at + ROTATION_GATE_MS) return { kind: 'gated', notBefore: new Date(at + ROTATION_GATE_MS), lastRotatedAt: at };
  return { kind: 'rotate' };
}

/**
 * When a rotation refused with 409 KEY_ROTATION_NOT_PERMITTED may be tried again: the
 * key's lastRotateDate + 1 h. When that has passed (or the key shows no rotation) the
 * service's gate is longer than documented: try again shortly (the caller's gate
 * decision spaces repeated refusals out).
 */
export function refusedRotationGate(key: KeyInfo, serverNow: number): { readonly notBefore: Date; readonly note?: GateNote } {
  const at = rotatedAtOf(key);
  if (at === undefined) return { notBefore: new Date(serverNow + GATE_MARGIN_MS), note: 'no-time-in-message' };
  const opens = at + ROTATION_GATE_MS;
  if (opens <= serverNow) return { notBefore: new Date(serverNow + GATE_MARGIN_MS), note: 'time-in-the-past' };
  return { notBefore: new Date(opens) };
}

/**
 * Whether a sync the service time-gated (409 REQ_TOO_EARLY_ERR, open at `syncNotBefore`)
 * was gated by the rotation made for the request: the key was rotated at or after the
 * request (within the allowance), and the gate opens no later than about an hour after
 * that rotation, so the rotation explains it. A rotation notifies the key's associated
 * resources itself: the sync it blocks has nothing left to do. Any other gate (a sync
 * or a lifecycle action after the rotation) is a gate like any other.
 */
export function notifiedByRotation(key: KeyInfo, r: RotationRequest, syncNotBefore: Date): boolean {
  const at = rotatedAtOf(key);
  if (at === undefined || at < doneThreshold(r)) return false;
  return syncNotBefore.getTime() <= at + SYNC_GATE_AFTER_ROTATION_MAX_MS;
}
