import { randomUUID } from 'node:crypto';
import { rfc3339CeilSeconds } from './clock';
import type { KeyAction } from './routes';
import type { KeyState, Seed, SeedInstance } from './seed';

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
  readonly lastUpdated: number;
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
  readonly description: string;
  readonly createdBy: string;
  readonly creationDate: number;
  lastUpdateDate: number;
  lastRotateDate: number | undefined;
  keyVersion: { id: string; creationDate: number };
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

  /**
   * @param seed validated seed
   * @param startMs emulator time at start; default dates are relative to it
   * @param gateSeconds period of the sync gate and of the rotation gate
   */
  constructor(seed: Seed, startMs: number, readonly gateSeconds: number) {
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
      const lastRotateDate = k.lastRotateDate === undefined ? undefined : Date.parse(k.lastRotateDate);
      const rec: KeyRecord = {
        id: k.id,
        instanceId: k.instanceId,
        crn: `crn:v1:bluemix:public:${service}:${inst?.region ?? 'us-south'}:a/${ACCOUNT}:${k.instanceId}:key:${k.id}`,
        name: k.name,
        aliases: [...(k.aliases ?? [])],
        keyRingID: k.keyRingID ?? 'default',
        state: k.state ?? 1,
        extractable: k.extractable ?? false,
        description: k.description ?? '',
        createdBy: k.createdBy ?? CREATOR,
        creationDate,
        lastUpdateDate: Math.max(creationDate, lastRotateDate ?? 0),
        lastRotateDate,
        keyVersion: { id: k.id, creationDate: lastRotateDate ?? creationDate },
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
      key.registrations.push({
        keyId: key.id,
        resourceCrn: r.resourceCrn,
        description: r.description ?? '',
        preventKeyDeletion: r.preventKeyDeletion ?? false,
        createdBy: r.createdBy ?? CREATOR,
        creationDate,
        updatedBy: r.createdBy ?? CREATOR,
        lastUpdated: creationDate,
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
    return { ok: true };
  }

  /** Applies a lifecycle action at `now`; every accepted action moves the sync gate. */
  action(key: KeyRecord, action: KeyAction, now: number): Outcome {
    const usable = this.usable(key, action);
    if (!usable.ok) return usable;
    const invalid = (message: string): Outcome => ({ ok: false, status: 409, code: 'KEY_ACTION_INVALID_STATE_ERR', summary: 'Action could not be performed on key. Please see "reasons" for more details.', message });
    switch (action) {
      case 'rotate': {
        if (key.state !== 1) return invalid(`Key is not in a valid state for rotate: state ${key.state}; enable the key first`);
        const last = key.lastRotateDate;
        if (last !== undefined && now < last + this.gateSeconds * 1000) {
          return {
            ok: false,
            status: 409,
            code: 'KEY_ROTATION_NOT_PERMITTED',
            summary: 'Action could not be performed on key. Please see "reasons" for more details.',
            message: `This root key has been rotated within the last hour. Only one 'rotate' action per hour is permitted. Rotation is possible after ${rfc3339CeilSeconds(last + this.gateSeconds * 1000)}`,
          };
        }
        key.keyVersion = { id: randomUUID(), creationDate: now };
        key.lastRotateDate = now;
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

  /** Registrations of every key of an instance (optionally one key ring), in seed order. */
  *registrationsOf(instanceId: string, keyRing?: string): Iterable<RegistrationRecord & { readonly key: KeyRecord }> {
    for (const k of this.keysOf(instanceId)) {
      if (keyRing !== undefined && k.keyRingID !== keyRing) continue;
      for (const r of k.registrations) yield { ...r, key: k };
    }
  }

  /** A view of the state without secrets, for the admin API. */
  snapshot(now: number): object {
    return {
      now: new Date(now).toISOString(),
      gateSeconds: this.gateSeconds,
      instances: [...this.instances.values()],
      keys: [...this.keys.values()].map((k) => {
        const opens = this.gateOpensAt(k);
        return {
          id: k.id,
          instanceId: k.instanceId,
          name: k.name,
          aliases: k.aliases,
          keyRingID: k.keyRingID,
          state: k.state,
          extractable: k.extractable,
          keyVersion: { id: k.keyVersion.id, creationDate: new Date(k.keyVersion.creationDate).toISOString() },
          lastSync: k.lastSync === undefined ? null : new Date(k.lastSync).toISOString(),
          lastLifecycleAction: k.lastLifecycleAction === undefined ? null : new Date(k.lastLifecycleAction).toISOString(),
          lastRotateDate: k.lastRotateDate === undefined ? null : new Date(k.lastRotateDate).toISOString(),
          syncGateOpensAt: opens === undefined ? null : new Date(opens).toISOString(),
          syncAllowed: opens === undefined || now >= opens,
          registrations: k.registrations.length,
        };
      }),
    };
  }
}
