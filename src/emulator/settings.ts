/**
 * Emulator settings that tests may change while it runs (from the options, a seed's
 * `settings`, or `POST /__emulator/settings`), validated in one place. Pure.
 */
import { show } from './show-value';

/** Largest page the real service returns (`limit` at most 5000). */
export const MAX_PAGE_LIMIT = 5000;
/** Longest registration acknowledgement delay accepted (366 days, as the gates). */
export const MAX_ACK_SECONDS = 366 * 86400;
/** How far a new key version's `creationDate` may sit from `lastRotateDate`. */
export const MAX_VERSION_SKEW_SECONDS = 60;

/** The settings in force. */
export interface EmulatorSettings {
  /**
   * Cap on the items of any listing page, whatever `limit` asks for (a gateway in front
   * of the real service may return fewer than asked). Undefined: no cap.
   */
  maxPageSize: number | undefined;
  /**
   * Seconds after a rotation (or an accepted sync) at which registrations that follow it
   * move to the key's new version. 0: at once.
   */
  registrationAckSeconds: number;
  /**
   * Seconds added to `lastRotateDate` to make a new version's `creationDate` (the real
   * service's two dates can differ a little). 0: equal.
   */
  versionDateSkewSeconds: number;
}

/** Settings as given (seed, option or admin call); absent fields keep their value. */
export interface EmulatorSettingsInput {
  /** An integer from 1 to 5000, or null for no cap. */
  readonly maxPageSize?: number | null;
  readonly registrationAckSeconds?: number;
  readonly versionDateSkewSeconds?: number;
}

/** The defaults: no page cap, registrations follow at once, version date = rotation date. */
export function defaultSettings(): EmulatorSettings {
  return { maxPageSize: undefined, registrationAckSeconds: 0, versionDateSkewSeconds: 0 };
}

const FIELDS = ['maxPageSize', 'registrationAckSeconds', 'versionDateSkewSeconds'] as const;


/**
 * Validates settings JSON; throws an Error naming `path.field`, the value and the fix.
 * Returns only the fields given.
 */
export function parseSettings(json: unknown, path: string): EmulatorSettingsInput {
  const fail = (field: string, value: unknown, fix: string): never => {
    throw new Error(`${path}${field ? `.${field}` : ''}: invalid value ${show(value)}: ${fix}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('', json, `use an object with any of ${FIELDS.join(', ')}, e.g. {"maxPageSize": 50}`);
  }
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(k)) fail(k, o[k], `unknown setting; use one of ${FIELDS.join(', ')}`);
  }
  const out: { -readonly [K in keyof EmulatorSettingsInput]: EmulatorSettingsInput[K] } = {};
  if (o.maxPageSize !== undefined) {
    const v = o.maxPageSize;
    if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_PAGE_LIMIT)) {
      fail('maxPageSize', v, `use an integer from 1 to ${MAX_PAGE_LIMIT}, or null for no cap`);
    }
    out.maxPageSize = v as number | null;
  }
  if (o.registrationAckSeconds !== undefined) {
    const v = o.registrationAckSeconds;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_ACK_SECONDS) {
      fail('registrationAckSeconds', v, `use a number of seconds from 0 (at once) to ${MAX_ACK_SECONDS}`);
    }
    out.registrationAckSeconds = v as number;
  }
  if (o.versionDateSkewSeconds !== undefined) {
    const v = o.versionDateSkewSeconds;
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > MAX_VERSION_SKEW_SECONDS) {
      fail('versionDateSkewSeconds', v, `use a number of seconds from -${MAX_VERSION_SKEW_SECONDS} to ${MAX_VERSION_SKEW_SECONDS}`);
    }
    out.versionDateSkewSeconds = v as number;
  }
  return out;
}

/** Applies validated input to `settings` (in place). */
export function applySettings(settings: EmulatorSettings, input: EmulatorSettingsInput): void {
  if (input.maxPageSize !== undefined) settings.maxPageSize = input.maxPageSize ?? undefined;
  if (input.registrationAckSeconds !== undefined) settings.registrationAckSeconds = input.registrationAckSeconds;
  if (input.versionDateSkewSeconds !== undefined) settings.versionDateSkewSeconds = input.versionDateSkewSeconds;
}

/** Settings as JSON for the admin API (`maxPageSize: null` when there is no cap). */
export function settingsJson(settings: EmulatorSettings): Record<string, unknown> {
  return { maxPageSize: settings.maxPageSize ?? null, registrationAckSeconds: settings.registrationAckSeconds, versionDateSkewSeconds: settings.versionDateSkewSeconds };
}
