/**
 * The generation of a declared rotation and the time it was requested. Pure; shared by
 * the constructs (synth time) and the CLI (`key-sync rotate`, before any request).
 */
import type { Invalid } from './ids';
import { checkMarker } from './markers';

/**
 * Checks a rotation generation: a marker string (see {@link checkMarker}) or a whole
 * number from 0 to 2^53 - 1. Changing it asks for one more rotation.
 */
export function checkGeneration(g: string | number): Invalid | undefined {
  if (typeof g === 'number') {
    if (Number.isSafeInteger(g) && g >= 0) return undefined;
    return {
      problem: Number.isInteger(g) ? 'is outside 0 to 9007199254740991' : 'is not a whole number',
      fix: "use a whole number (e.g. 3) or a short readable string such as '2026-Q4', and change it whenever the key must be rotated once more",
    };
  }
  return checkMarker(g);
}

/** A generation as the CLI and the trigger map carry it (numbers in decimal). */
export function generationText(g: string | number): string {
  return typeof g === 'number' ? String(g) : g;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 date-time (`2026-11-28T21:38:43Z`, fractions and offsets allowed; what
 * Terraform's `plantimestamp()` prints) as epoch ms, or `undefined` when it is not one.
 */
export function parseRfc3339(s: string): number | undefined {
  if (typeof s !== 'string' || s.length > 40) return undefined;
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  // A leap second (:60) is read as the next second.
  return Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) + (second === 60 ? 1000 : 0) + ms - offsetMin * 60_000;
}

/** Checks a requested-at time (`--requested-at`): an RFC 3339 date-time. */
export function checkRequestedAt(s: string): Invalid | undefined {
  if (parseRfc3339(s) !== undefined) return undefined;
  return {
    problem: 'is not an RFC 3339 date-time',
    fix: 'give the time the generation was first requested, e.g. 2026-11-28T21:38:43Z (KeyRotation passes the time Terraform recorded with plantimestamp())',
  };
}
