import { createHash, randomUUID } from 'node:crypto';
import { rfc3339CeilSeconds } from './clock';
import { nextCatchUp, settleNotices, type CatchUp, type Notice } from './registration-catch-up';
import type { RotateBody } from './rotate-body';
import type { KeyAction } from './routes';
import type { KeyState, Seed, SeedInstance } from './seed';
import { applySettings, defaultSettings, type EmulatorSettings } from './settings';

/**
 * The emulator's data: instances, keys (indexed by id and alias per instance),
 * registrations (indexed by key), API keys, and the sync/rotation gates. Decisions take
 * `now` (epoch ms) as a parameter, so this file does no I/O and reads no clock.
 */

const DAY_MS = 24 * 3600 * 1000;
const ACCOUNT = '1234567890abcdef1234567890abcdef';

/** A registration as stored. */
export interface RegistrationRecord {
  readonly keyId: string;
  readonly resourceCrn: string;
  readonly description: string;
  readonly preventKeyDeletion: boolean;
  readonly createdBy: string;
  readonly creationDate: number;
  readonly updatedBy: string;
  /** When the resource last updated the registration (e.g. acknowledged a new version). */
  lastUpdated: number;
  /** Index in the key's `versions` of the version protecting this resource. */
  versionIndex: number;
  /** How it follows rotations (see {@link CatchUp}). */
  readonly catchUp: CatchUp;
}

/** One version of a key's material. */
export interface KeyVersionRecord {
  readonly id: string;
  readonly creationDate: number;
}

/** A key as stored (mutable: actions change it). */
export interface KeyRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly crn: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly keyRingID: string;
  state: KeyState;
  readonly extractable: boolean;
  /** Created from user-supplied key material: a rotation needs new material. */
  readonly imported: boolean;
  readonly description: string;
  readonly createdBy: string;
  readonly creationDate: number;
  lastUpdateDate: number;
  lastRotateDate: number | undefined;
  /** The current version (the last of `versions`). */
  keyVersion: KeyVersionRecord;
  /** Every version, oldest first. */
  readonly versions: KeyVersionRecord[];
  /** Notices (rotations, accepted syncs) some registrations have not acknowledged yet. */
  notices: Notice[];
  /** Last accepted sync. */
  lastSync: number | undefined;
  /** Last lifecycle action (rotate, disable, enable...). */
  lastLifecycleAction: number | undefined;
  readonly registrations: RegistrationRecord[];
}

/** Why an operation was refused, in the service's terms. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly summary: string;
}

/** Result of a sync or an action. */
export type Outcome = { readonly ok: true } | ({ readonly ok: false } & Refusal);

const CREATOR = 'IBMid-emulator-0000000000';

function dateOr(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : Date.parse(value);
}

/**
 * A stable UUID (v4 shape) for the `n`th version of a seeded key whose seed gives a
 * rotation date but no version ids, so the same seed always lists the same versions.
 */
export function derivedVersionId(keyId: string, n: number): string {
  const h = createHash('sha256').update(`${keyId.toLowerCase()}/version/${n}`).digest('hex');
  const variant = ((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const ACTION_SUMMARY = 'Action could not be performed on key. Please see "reasons" for more details.';

/** Mutable emulator state built from a validated {@link Seed}. */
export class EmulatorState {
  readonly instances = new Map<string, SeedInstance>();
  /** instance id (lowercase) -> id (lowercase) or alias -> key. */
  private readonly keyIndex = new Map<string, Map<string, KeyRecord>>();
  /** instance id (lowercase) -> keys in seed order. */
  private readonly keyList = new Map<string, KeyRecord[]>();
  /** All keys, by id (lowercase). */
  readonly keys = new Map<string, KeyRecord>();
  private readonly apiKeys: Set<string>;
  /** Settings in force (page cap, registration acknowledgement delay, version date skew); mutable. */
  readonly settings: EmulatorSettings;

  /**
   * @param seed validated seed
   * @param startMs emulator time at start; default dates are relative to it
   * @param gateSeconds period of the sync gate and of the rotation gate
   * @param settings settings in force; default the seed's `settings` over {@link defaultSettings}
   */
  constructor(seed: Seed, startMs: number, readonly gateSeconds: number, settings?: EmulatorSettings) {
    this.settings = settings ?? defaultSettings();
    if (!settings && seed.settings) applySettings(this.settings, seed.settings);
    for (const inst of seed.instances) {
      this.instances.set(inst.id.toLowerCase(), inst);
      this.keyIndex.set(inst.id.toLowerCase(), new Map());
      this.keyList.set(inst.id.toLowerCase(), []);
    }
    const created = startMs - 2 * DAY_MS;
    for (const k of seed.keys) {
      const inst = this.instances.get(k.instanceId.toLowerCase());
      const service = inst?.kind === 'hpcs' ? 'hs-crypto' : 'kms';
      const creationDate = dateOr(k.creationDate, created);
      const versions: KeyVersionRecord[] = k.versions
        ? k.versions.map((v) => ({ id: v.id, creationDate: Date.parse(v.creationDate) }))
        : [{ id: k.id, creationDate }];
      if (!k.versions && k.lastRotateDate !== undefined) versions.push({ id: derivedVersionId(k.id, 1), creationDate: Date.parse(k.lastRotateDate) });
      const current = versions[versions.length - 1] as KeyVersionRecord;
      const lastRotateDate = k.lastRotateDate !== undefined ? Date.parse(k.lastRotateDate) : versions.length > 1 ? current.creationDate : undefined;
      const rec: KeyRecord = {
        id: k.id,
        instanceId: k.instanceId,
        crn: `crn:v1:bluemix:public:${service}:${inst?.region ?? 'us-south'}:a/${ACCOUNT}:${k.instanceId}:key:${k.id}`,
        name: k.name,
        aliases: [...(k.aliases ?? [])],
        keyRingID: k.keyRingID ?? 'default',
        state: k.state ?? 1,
        extractable: k.extractable ?? false,
        imported: k.imported ?? false,
        description: k.description ?? '',
        createdBy: k.createdBy ?? CREATOR,
        creationDate,
        lastUpdateDate: Math.max(creationDate, lastRotateDate ?? 0),
        lastRotateDate,
        keyVersion: current,
        versions,
        notices: [],
        lastSync: k.lastSyncDate === undefined ? undefined : Date.parse(k.lastSyncDate),
        lastLifecycleAction: k.lastLifecycleActionDate === undefined ? lastRotateDate : Date.parse(k.lastLifecycleActionDate),
        registrations: [],
      };
      this.keys.set(k.id.toLowerCase(), rec);
      const idx = this.keyIndex.get(k.instanceId.toLowerCase());
      idx?.set(k.id.toLowerCase(), rec);
      for (const a of rec.aliases) idx?.set(a, rec);
      this.keyList.get(k.instanceId.toLowerCase())?.push(rec);
    }
    for (const r of seed.registrations ?? []) {
      const key = this.keys.get(r.keyId.toLowerCase());
      if (!key) continue; // parseSeed resolved aliases to ids already
      const creationDate = dateOr(r.creationDate, created);
      const wanted = r.keyVersionId?.toLowerCase();
      const index = wanted === undefined ? -1 : key.versions.findIndex((v) => v.id.toLowerCase() === wanted);
      key.registrations.push({
        keyId: key.id,
        resourceCrn: r.resourceCrn,
        description: r.description ?? '',
        preventKeyDeletion: r.preventKeyDeletion ?? false,
        createdBy: r.createdBy ?? CREATOR,
        creationDate,
        updatedBy: r.createdBy ?? CREATOR,
        lastUpdated: creationDate,
        versionIndex: index >= 0 ? index : key.versions.length - 1,
        catchUp: r.catchUp ?? 'auto',
      });
    }
    this.apiKeys = new Set(seed.apiKeys);
  }

  /** True if IAM knows this API key. */
  hasApiKey(apiKey: string): boolean {
    return this.apiKeys.has(apiKey);
  }

  /** The seeded API keys (for redaction only; never logged or served). */
  apiKeyList(): readonly string[] {
    return [...this.apiKeys];
  }

  /** The instance with this id (case-insensitive), if seeded. */
  instance(id: string): SeedInstance | undefined {
    return this.instances.get(id.toLowerCase());
  }

  /** Looks a key up by id (case-insensitive) or alias within one instance. O(1). */
  findKey(instanceId: string, ref: string): KeyRecord | undefined {
    const idx = this.keyIndex.get(instanceId.toLowerCase());
    return idx?.get(ref) ?? idx?.get(ref.toLowerCase());
  }

  /** Keys of one instance, in seed order. */
  keysOf(instanceId: string): readonly KeyRecord[] {
    return this.keyList.get(instanceId.toLowerCase()) ?? [];
  }

  /** True if some key of the instance is in this key ring. */
  hasKeyRing(instanceId: string, ring: string): boolean {
    if (ring === 'default') return true;
    for (const k of this.keysOf(instanceId)) if (k.keyRingID === ring) return true;
    return false;
  }

  /** When the sync gate of `key` opens (epoch ms), or undefined if it is open already by construction. */
  gateOpensAt(key: KeyRecord): number | undefined {
    const last = Math.max(key.lastSync ?? -Infinity, key.lastLifecycleAction ?? -Infinity);
    return Number.isFinite(last) ? last + this.gateSeconds * 1000 : undefined;
  }

  /** Checks that a sync or action may be applied to `key` at all (not destroyed, a root key). */
  private usable(key: KeyRecord, what: string): Outcome {
    if (key.state === 5) {
      return { ok: false, status: 410, code: 'KEY_DELETED_ERR', summary: 'Key has been deleted', message: `Key has already been deleted; ${what} is not possible. Please delete references to this key` };
    }
    if (key.extractable) {
      return { ok: false, status: 422, code: 'KEY_ROOT_REQ_ERR', summary: 'Requested action can only be completed with a root key', message: `Requested action can only be completed with a root key; '${key.id}' is a standard key and does not support ${what}` };
    }
    return { ok: true };
  }

  /** Applies a sync at `now`: 204-style success (records it) or a refusal (gate, state). */
  sync(key: KeyRecord, now: number): Outcome {
    const usable = this.usable(key, 'sync');
    if (!usable.ok) return usable;
    if (key.state === 0) {
      return { ok: false, status: 409, code: 'KEY_ACTION_INVALID_STATE_ERR', summary: 'Action could not be performed on key', message: 'Key is not in a valid state: a pre-active key cannot be synced' };
    }
    const opens = this.gateOpensAt(key);
    if (opens !== undefined && now < opens) {
      return {
        ok: false,
        status: 409,
        code: 'REQ_TOO_EARLY_ERR',
        summary: 'Action could not be performed on key. Please see "reasons" for more details.',
        message: `The sync request was sent too early. Sync cannot be performed until at least ${rfc3339CeilSeconds(opens)}`,
      };
    }
    key.lastSync = now;
    this.notify(key, 'sync', now);
    return { ok: true };
  }

  /**
   * Applies a lifecycle action at `now`; every accepted action moves the sync gate.
   * `body` is the parsed rotate body (default: empty), ignored by the other actions.
   */
  action(key: KeyRecord, action: KeyAction, now: number, body: RotateBody = { ok: true, payload: false }): Outcome {
    const usable = this.usable(key, action);
    if (!usable.ok) return usable;
    const invalid = (message: string): Outcome => ({ ok: false, status: 409, code: 'KEY_ACTION_INVALID_STATE_ERR', summary: ACTION_SUMMARY, message });
    switch (action) {
      case 'rotate': {
        const refused = this.rotationRefusal(key, now, body);
        if (refused) return { ok: false, ...refused };
        const version = { id: randomUUID(), creationDate: now + Math.round(this.settings.versionDateSkewSeconds * 1000) };
        key.versions.push(version);
        key.keyVersion = version;
        key.lastRotateDate = now;
        // the rotation itself notifies the associated resources
        this.notify(key, 'rotate', now);
        break;
      }
      case 'disable':
        if (key.state !== 1) return invalid(`Key is not in a valid state for disable: state ${key.state}; only an active key (state 1) can be disabled`);
        key.state = 2;
        break;
      case 'enable':
        if (key.state !== 2) return invalid(`Key is not in a valid state for enable: state ${key.state}; only a suspended key (state 2) can be enabled`);
        key.state = 1;
        break;
    }
    key.lastUpdateDate = now;
    key.lastLifecycleAction = now;
    return { ok: true };
  }

  /**
   * Why `key` cannot be rotated at `now` with this body, or undefined if it can. Checked in
   * this order: the body (400), the key state (409), the once-an-hour gate (409).
   */
  private rotationRefusal(key: KeyRecord, now: number, body: RotateBody): Refusal | undefined {
    if (!body.ok) return { status: 400, code: 'BAD_BODY_ERR', summary: ACTION_SUMMARY, message: body.message };
    if (key.imported && !body.payload) {
      // KEY_PAYLOAD_REQ_ERR (400, target field "payload") is the reason code and text Key
      // Protect's public error reference gives for rotating an imported key without material.
      return {
        status: 400,
        code: 'KEY_PAYLOAD_REQ_ERR',
        summary: ACTION_SUMMARY,
        message: "This root key was created with user-supplied key material: Key material is required to perform a 'rotate' action",
      };
    }
    if (!key.imported && body.payload) {
      // the real service's answer here is not documented; refusing catches a client that
      // sends material for a generated key
      return { status: 400, code: 'BAD_BODY_ERR', summary: ACTION_SUMMARY, message: 'Invalid body data was passed: key material can only be given to rotate a root key that was imported; send an empty body' };
    }
    const hpcs = this.instance(key.instanceId)?.kind === 'hpcs';
    if (key.state !== 1 && !(key.state === 3 && !hpcs)) {
      const invalid = (why: string): Refusal => ({ status: 409, code: 'KEY_ACTION_INVALID_STATE_ERR', summary: ACTION_SUMMARY, message: `Key is not in a valid state for rotate: state ${key.state}; ${why}` });
      if (key.state === 0) return invalid('a pre-active key cannot be rotated');
      if (key.state === 2) return invalid('a suspended key cannot be rotated; enable the key first');
      return invalid('Hyper Protect Crypto Services rotates only active keys (state 1)');
    }
    const last = key.lastRotateDate;
    if (last !== undefined && now < last + this.gateSeconds * 1000) {
      // the real message names no time: clients compute the opening from lastRotateDate
      return {
        status: 409,
        code: 'KEY_ROTATION_NOT_PERMITTED',
        summary: ACTION_SUMMARY,
        message: "This root key has been rotated within the last hour. Only one 'rotate' action per hour is permitted",
      };
    }
    return undefined;
  }

  /** When `key` may next be rotated (epoch ms), or undefined when the first rotation is still free. */
  rotationOpensAt(key: KeyRecord): number | undefined {
    return key.lastRotateDate === undefined ? undefined : key.lastRotateDate + this.gateSeconds * 1000;
  }

  /** Applies the registration acknowledgements of `key` that are due at `now`. */
  settle(key: KeyRecord, now: number): void {
    if (key.notices.length > 0) key.notices = settleNotices(key.registrations, key.notices, now, this.settings.registrationAckSeconds * 1000);
  }

  /** Records a notice to the resources of `key` (a rotation or an accepted sync). */
  private notify(key: KeyRecord, kind: Notice['kind'], now: number): void {
    this.settle(key, now);
    key.notices.push({ at: now, kind, versionIndex: key.versions.length - 1 });
    this.settle(key, now);
  }

  /** The version protecting a registration's resource. */
  registrationVersion(key: KeyRecord, r: RegistrationRecord): KeyVersionRecord {
    return key.versions[r.versionIndex] ?? key.keyVersion;
  }

  /**
   * Moves the registrations matching `filter` (a key id or alias, a resource CRN, both or
   * neither) to their key's current version at `now`, whatever their `catchUp`. Returns the
   * registrations it matched (already current ones included).
   */
  acknowledge(filter: { readonly keyId?: string; readonly resourceCrn?: string }, now: number): Array<RegistrationRecord & { readonly key: KeyRecord }> {
    const matched: Array<RegistrationRecord & { readonly key: KeyRecord }> = [];
    const ref = filter.keyId;
    for (const key of this.keys.values()) {
      if (ref !== undefined && key.id.toLowerCase() !== ref.toLowerCase() && !key.aliases.includes(ref)) continue;
      this.settle(key, now);
      for (const r of key.registrations) {
        if (filter.resourceCrn !== undefined && r.resourceCrn !== filter.resourceCrn) continue;
        const current = key.versions.length - 1;
        if (r.versionIndex !== current) {
          r.versionIndex = current;
          r.lastUpdated = now;
        }
        matched.push({ ...r, key });
      }
    }
    return matched;
  }

  /** True if some key has this id (case-insensitive) or alias. */
  hasKeyRef(ref: string): boolean {
    for (const key of this.keys.values()) if (key.id.toLowerCase() === ref.toLowerCase() || key.aliases.includes(ref)) return true;
    return false;
  }

  /** Registrations of every key of an instance (optionally one key ring), in seed order, as of `now`. */
  *registrationsOf(instanceId: string, now: number, keyRing?: string): Iterable<RegistrationRecord & { readonly key: KeyRecord }> {
    for (const k of this.keysOf(instanceId)) {
      if (keyRing !== undefined && k.keyRingID !== keyRing) continue;
      yield* this.registrationsOfKey(k, now);
    }
  }

  /** Registrations of one key, as of `now`. */
  *registrationsOfKey(key: KeyRecord, now: number): Iterable<RegistrationRecord & { readonly key: KeyRecord }> {
    this.settle(key, now);
    for (const r of key.registrations) yield { ...r, key };
  }

  /** A view of the state without secrets, for the admin API. */
  snapshot(now: number): object {
    const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
    const ackMs = this.settings.registrationAckSeconds * 1000;
    return {
      now: new Date(now).toISOString(),
      gateSeconds: this.gateSeconds,
      settings: { maxPageSize: this.settings.maxPageSize ?? null, registrationAckSeconds: this.settings.registrationAckSeconds, versionDateSkewSeconds: this.settings.versionDateSkewSeconds },
      instances: [...this.instances.values()],
      keys: [...this.keys.values()].map((k) => {
        this.settle(k, now);
        const opens = this.gateOpensAt(k);
        const rotation = this.rotationOpensAt(k);
        const current = k.versions.length - 1;
        const registrationVersions = k.registrations.map((r) => {
          const v = this.registrationVersion(k, r);
          const next = nextCatchUp(r, k.notices, ackMs);
          return {
            resourceCrn: r.resourceCrn,
            keyVersion: { id: v.id, creationDate: iso(v.creationDate) },
            lagging: r.versionIndex < current,
            versionsBehind: current - r.versionIndex,
            catchUp: r.catchUp,
            catchesUpAt: next === undefined ? null : iso(next.at),
            lastUpdated: iso(r.lastUpdated),
          };
        });
        return {
          id: k.id,
          instanceId: k.instanceId,
          name: k.name,
          aliases: k.aliases,
          keyRingID: k.keyRingID,
          state: k.state,
          extractable: k.extractable,
          imported: k.imported,
          keyVersion: { id: k.keyVersion.id, creationDate: iso(k.keyVersion.creationDate) },
          versions: k.versions.length,
          lastSync: iso(k.lastSync),
          lastLifecycleAction: iso(k.lastLifecycleAction),
          lastRotateDate: iso(k.lastRotateDate),
          syncGateOpensAt: iso(opens),
          syncAllowed: opens === undefined || now >= opens,
          rotationAllowedAt: iso(rotation),
          rotationAllowed: rotation === undefined || now >= rotation,
          registrations: k.registrations.length,
          laggingRegistrations: registrationVersions.filter((r) => r.lagging).length,
          registrationVersions,
        };
      }),
    };
  }
}
