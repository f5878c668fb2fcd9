import type { KeyInfo, Registration } from '../../src/client/resources';
import { keyChangedAt, versionStatus, type Verdict } from '../../src/client/version-status';

const H = 3_600_000;
const ROTATED = Date.parse('2026-12-01T10:00:00Z');
const GRACE = 4 * H;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
const key = (over: Partial<KeyInfo> = {}): KeyInfo => ({
  id: 'k1',
  state: 1,
  keyVersion: { id: 'v2', creationDate: iso(ROTATED) },
  lastRotateDate: iso(ROTATED),
  ...over,
});
const reg = (crn: string, version: string | undefined, created?: number): Registration => ({
  keyId: 'k1',
  resourceCrn: crn,
  ...(version === undefined ? {} : { keyVersion: { id: version, ...(created === undefined ? {} : { creationDate: iso(created) }) } }),
});
const ON_V2 = reg('crn:a', 'v2', ROTATED);
const ON_V1 = reg('crn:b', 'v1', ROTATED - 30 * 86_400_000);

describe('versionStatus', () => {
  test.each<[string, KeyInfo, Registration[], number, Verdict, number]>([
    ['every resource on the current version', key(), [ON_V2, reg('crn:c', 'v2')], ROTATED + 10 * H, 'current', 0],
    ['no registrations', key(), [], ROTATED + 10 * H, 'no-registrations', 0],
    ['one lags, 1 h after the rotation: catching up', key(), [ON_V2, ON_V1], ROTATED + H, 'catching-up', 1],
    ['one lags, just inside the grace period', key(), [ON_V1], ROTATED + GRACE - 1, 'catching-up', 1],
    ['one lags, at the end of the grace period: behind', key(), [ON_V1], ROTATED + GRACE, 'behind', 1],
    ['one lags, a day later: behind', key(), [ON_V2, ON_V1], ROTATED + 24 * H, 'behind', 1],
    ['a registration that names no version lags', key(), [reg('crn:x', undefined)], ROTATED + 24 * H, 'behind', 1],
    ['a registration on a version newer than the key read (rotated since): not lagging', key(), [reg('crn:n', 'v3', ROTATED + H)], ROTATED + 24 * H, 'current', 0],
    ['a newer-looking version without a date is not trusted: lags', key(), [reg('crn:n', 'v3')], ROTATED + 24 * H, 'behind', 1],
    ['never rotated: the version\'s creation counts', key({ lastRotateDate: undefined, keyVersion: { id: 'v1', creationDate: iso(ROTATED) } }), [reg('crn:y', 'v0')], ROTATED + H, 'catching-up', 1],
    ['no date at all: lagging counts as behind (how long is unknown)', key({ lastRotateDate: undefined, keyVersion: { id: 'v2' } }), [ON_V1], ROTATED, 'behind', 1],
    ['the key has no version: unknown', key({ keyVersion: undefined }), [ON_V1], ROTATED + 24 * H, 'unknown', 0],
    // The grace period runs on the key service's clock: a machine 6 h behind that passes its
    // own time would see the 5 h-old rotation as catching up; the caller passes service time.
    ['clock skew: judged on the service time passed in', key(), [ON_V1], ROTATED + 5 * H, 'behind', 1],
    ['version creation and lastRotateDate a minute apart: the later counts', key({ keyVersion: { id: 'v2', creationDate: iso(ROTATED + 60_000) } }), [ON_V1], ROTATED + GRACE + 30_000, 'catching-up', 1],
  ])('%s', (_name, k, regs, now, verdict, lagging) => {
    const s = versionStatus(k, regs, now, GRACE);
    expect(s.verdict).toBe(verdict);
    expect(s.lagging).toHaveLength(lagging);
    expect(s.registrations).toBe(regs.length);
    expect(s.onCurrentVersion + s.lagging.length).toBe(verdict === 'unknown' ? 0 : regs.length);
  });

  test('lagging resources say which version they are on and how long since the key changed', () => {
    const s = versionStatus(key(), [ON_V2, ON_V1], ROTATED + 6 * H, GRACE);
    expect(s).toMatchObject({
      verdict: 'behind',
      state: 1,
      currentVersion: { id: 'v2', since: iso(ROTATED) },
      lastRotateDate: iso(ROTATED),
      registrations: 2,
      onCurrentVersion: 1,
      changedAt: ROTATED,
      lagging: [{ resourceCrn: 'crn:b', keyVersionId: 'v1', behindForMs: 6 * H }],
    });
  });

  test('keyChangedAt: the later of version creation and last rotation; undefined without dates', () => {
    expect(keyChangedAt(key())).toBe(ROTATED);
    expect(keyChangedAt(key({ lastRotateDate: iso(ROTATED + 5) }))).toBe(ROTATED + 5);
    expect(keyChangedAt({ id: 'x' })).toBeUndefined();
    expect(keyChangedAt({ id: 'x', lastRotateDate: 'garbage' })).toBeUndefined();
  });
});
