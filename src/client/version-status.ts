/**
 * Which resources did not pick up a key change: the key's current version compared with
 * the version each registration says protects its resource. Pure: the key, its
 * registrations, the time (on the key service's clock) and the grace period in, a
 * verdict out. Table-tested in test/unit/version-status.test.ts.
 *
 * - `current`: every registration is on the key's current version (or on a newer one:
 *   the key was rotated again after it was read).
 * - `catching-up`: some are not, and the key changed less than the grace period ago (IBM
 *   gives services up to 4 hours to respond to a key event).
 * - `behind`: some are not, past the grace period (or since an unknown time).
 * - `no-registrations`: nothing is associated with the key; there is nobody to notify.
 * - `unknown`: the key or its registrations could not be read (the caller says why), or
 *   the key has no version to compare with.
 */
import type { KeyInfo, Registration } from './resources';

export type Verdict = 'current' | 'catching-up' | 'behind' | 'no-registrations' | 'unknown';

/** A registration whose resource is on an older version than the key's current one. */
export interface LaggingResource {
  readonly resourceCrn?: string;
  /** The version the resource is on (absent when the registration names none). */
  readonly keyVersionId?: string;
  readonly keyVersionCreated?: string;
  /** How long since the key changed to its current version, ms (absent when unknown). */
  readonly behindForMs?: number;
}

export interface KeyVersionStatus {
  readonly verdict: Verdict;
  readonly state?: number;
  readonly currentVersion?: { readonly id: string; readonly since?: string };
  readonly lastRotateDate?: string;
  readonly registrations: number;
  readonly onCurrentVersion: number;
  readonly lagging: readonly LaggingResource[];
  /** When the key changed to its current version (epoch ms), if known. */
  readonly changedAt?: number;
  /** Why the verdict is `unknown` when the key was read. */
  readonly unknownBecause?: 'no-key-version';
}

/** The time the key changed to its current version: the later of the version's creation and the last rotation. */
export function keyChangedAt(key: KeyInfo): number | undefined {
  const times = [key.keyVersion?.creationDate, key.lastRotateDate].map((d) => (d === undefined ? NaN : Date.parse(d))).filter((t) => Number.isFinite(t));
  return times.length === 0 ? undefined : Math.max(...times);
}

/**
 * The verdict for one key. `now` is on the key service's clock (our clock plus the skew
 * its Date header showed), so a machine whose clock is off does not move the grace period.
 */
export function versionStatus(key: KeyInfo, registrations: readonly Registration[], now: number, graceMs: number): KeyVersionStatus {
  const current = key.keyVersion?.id;
  const changedAt = keyChangedAt(key);
  const currentCreated = key.keyVersion?.creationDate === undefined ? NaN : Date.parse(key.keyVersion.creationDate);
  const base = {
    ...(key.state === undefined ? {} : { state: key.state }),
    ...(current === undefined ? {} : { currentVersion: { id: current, ...(key.keyVersion?.creationDate === undefined ? {} : { since: key.keyVersion.creationDate }) } }),
    ...(key.lastRotateDate === undefined ? {} : { lastRotateDate: key.lastRotateDate }),
    registrations: registrations.length,
    ...(changedAt === undefined ? {} : { changedAt }),
  };
  if (registrations.length === 0) return { ...base, verdict: 'no-registrations', onCurrentVersion: 0, lagging: [] };
  if (current === undefined) return { ...base, verdict: 'unknown', onCurrentVersion: 0, lagging: [], unknownBecause: 'no-key-version' };
  const lagging: LaggingResource[] = [];
  let onCurrent = 0;
  for (const r of registrations) {
    const v = r.keyVersion?.id;
    if (v === current) {
      onCurrent++;
      continue;
    }
    // A version created after the one we read is newer: the key moved on since our read.
    const created = r.keyVersion?.creationDate === undefined ? NaN : Date.parse(r.keyVersion.creationDate);
    if (v !== undefined && Number.isFinite(created) && Number.isFinite(currentCreated) && created > currentCreated) {
      onCurrent++;
      continue;
    }
    lagging.push({
      ...(r.resourceCrn === undefined ? {} : { resourceCrn: r.resourceCrn }),
      ...(v === undefined ? {} : { keyVersionId: v }),
      ...(r.keyVersion?.creationDate === undefined ? {} : { keyVersionCreated: r.keyVersion.creationDate }),
      ...(changedAt === undefined ? {} : { behindForMs: Math.max(0, now - changedAt) }),
    });
  }
  if (lagging.length === 0) return { ...base, verdict: 'current', onCurrentVersion: onCurrent, lagging };
  const withinGrace = changedAt !== undefined && now - changedAt < graceMs;
  return { ...base, verdict: withinGrace ? 'catching-up' : 'behind', onCurrentVersion: onCurrent, lagging };
}
