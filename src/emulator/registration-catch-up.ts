/**
 * How registrations follow their key's versions. A rotation, or an accepted sync, is a
 * notice to the key's associated resources: "move to version N". Each resource
 * acknowledges it `ackSeconds` later (0: at once), and only then does its registration
 * carry version N. Evaluated lazily against `now` (no timers): pure functions that the
 * state calls before it reads or changes registrations.
 */

/**
 * How a registration reacts to notices:
 * - `auto`: follows rotations and syncs (the default);
 * - `on-sync`: missed the rotation's notice and follows only an accepted sync;
 * - `never`: never moves by itself (only the admin acknowledgement moves it).
 */
export type CatchUp = 'auto' | 'on-sync' | 'never';

/** Every {@link CatchUp}, for validation. */
export const CATCH_UP_MODES: readonly CatchUp[] = ['auto', 'on-sync', 'never'];

/** A notice sent to a key's resources at `at` (epoch ms): move to `versionIndex`. */
export interface Notice {
  readonly at: number;
  readonly kind: 'rotate' | 'sync';
  readonly versionIndex: number;
}

/** What catch-up needs of a registration (mutated when it acknowledges). */
export interface VersionedRegistration {
  versionIndex: number;
  lastUpdated: number;
  readonly catchUp: CatchUp;
}

/** True if a registration of this kind acknowledges this kind of notice. */
export function follows(catchUp: CatchUp, kind: Notice['kind']): boolean {
  return catchUp === 'auto' || (catchUp === 'on-sync' && kind === 'sync');
}

/**
 * Applies every notice due by `now` (sent at least `ackMs` ago) to the registrations that
 * follow it, in the order they fall due; a registration only ever moves forward, and its
 * `lastUpdated` is the moment it acknowledged. Returns the notices still pending.
 */
export function settleNotices(registrations: readonly VersionedRegistration[], notices: readonly Notice[], now: number, ackMs: number): Notice[] {
  const due = notices.filter((n) => n.at + ackMs <= now).sort((a, b) => a.at - b.at);
  for (const n of due) {
    for (const r of registrations) {
      if (follows(r.catchUp, n.kind) && n.versionIndex > r.versionIndex) {
        r.versionIndex = n.versionIndex;
        r.lastUpdated = n.at + ackMs;
      }
    }
  }
  return notices.filter((n) => n.at + ackMs > now);
}

/**
 * When `r` will next move and to which version, given the pending notices; undefined when
 * nothing pending would move it.
 */
export function nextCatchUp(r: VersionedRegistration, pending: readonly Notice[], ackMs: number): { readonly at: number; readonly versionIndex: number } | undefined {
  let next: { at: number; versionIndex: number } | undefined;
  for (const n of pending) {
    if (!follows(r.catchUp, n.kind) || n.versionIndex <= r.versionIndex) continue;
    const at = n.at + ackMs;
    if (next === undefined || at < next.at) next = { at, versionIndex: n.versionIndex };
  }
  return next;
}
