import { readFile } from 'node:fs/promises';
import { parseFaultTarget, parseFaults, type Fault, type FaultTarget } from './faults';
import { CATCH_UP_MODES, type CatchUp } from './registration-catch-up';
import { parseSettings, type EmulatorSettingsInput } from './settings';
import { show } from './show-value';

/**
 * What the emulator starts with: instances, root keys, registrations, API keys and
 * optional scripted faults. Plain JSON (a `--seed FILE`), validated by {@link parseSeed}.
 */

/** A Key Protect or Hyper Protect Crypto Services instance. */
export interface SeedInstance {
  readonly id: string;
  readonly kind: 'key-protect' | 'hpcs';
  readonly region: string;
}

/** Key states of the real service: 0 pre-activation, 1 active, 2 suspended, 3 deactivated, 5 destroyed. */
export type KeyState = 0 | 1 | 2 | 3 | 5;

/** One version of a key's material. */
export interface SeedKeyVersion {
  /** A UUID. */
  readonly id: string;
  /** RFC 3339. */
  readonly creationDate: string;
}

/** A key. Omitted fields get defaults: ring `default`, state 1, `extractable: false` (a root key). */
export interface SeedKey {
  readonly id: string;
  readonly instanceId: string;
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly keyRingID?: string;
  readonly state?: KeyState;
  /** `true` makes a standard key: sync and rotation on it fail as on the real service. */
  readonly extractable?: boolean;
  readonly description?: string;
  readonly createdBy?: string;
  /** RFC 3339. Default: two days before the emulator starts. */
  readonly creationDate?: string;
  /** RFC 3339: last sync, to start with a closed gate. */
  readonly lastSyncDate?: string;
  /** RFC 3339: last lifecycle action (rotate, enable, disable...). */
  readonly lastLifecycleActionDate?: string;
  /**
   * RFC 3339: last rotation (gates the next one for an hour). Default: the last of
   * `versions` when there are two or more, else none (never rotated).
   */
  readonly lastRotateDate?: string;
  /**
   * `true`: the key was created from key material the user supplied, so rotating it needs
   * new material in the body (a rotation without it is refused with 400).
   * @default false
   */
  readonly imported?: boolean;
  /**
   * The key's version history, oldest first; the last is the current `keyVersion`.
   * Default: one version whose id is the key id, created with the key (plus one created at
   * `lastRotateDate` when that is given).
   */
  readonly versions?: readonly SeedKeyVersion[];
}

/** A registration (associated resource) of a key. */
export interface SeedRegistration {
  /** Key id or alias of a seeded key. */
  readonly keyId: string;
  readonly resourceCrn: string;
  readonly description?: string;
  readonly preventKeyDeletion?: boolean;
  readonly createdBy?: string;
  readonly creationDate?: string;
  /**
   * Id of the key version protecting this resource: one of the key's `versions` (or the
   * key id, its first version). Default: the key's current version.
   */
  readonly keyVersionId?: string;
  /**
   * How this registration follows rotations: `auto` (after each rotation or accepted sync,
   * `registrationAckSeconds` later), `on-sync` (only after an accepted sync) or `never`
   * (only the admin acknowledgement moves it).
   * @default 'auto'
   */
  readonly catchUp?: CatchUp;
}

/** Everything the emulator is seeded with. */
export interface Seed {
  readonly instances: readonly SeedInstance[];
  readonly keys: readonly SeedKey[];
  readonly registrations?: readonly SeedRegistration[];
  /** API keys IAM accepts. */
  readonly apiKeys: readonly string[];
  /** Faults queued at start, per route (or `'*'`). */
  readonly faults?: Readonly<Partial<Record<FaultTarget, readonly Fault[]>>>;
  /** Settings at start (`maxPageSize`, `registrationAckSeconds`, `versionDateSkewSeconds`); options override them. */
  readonly settings?: EmulatorSettingsInput;
}

/** The demo API key of {@link DEFAULT_SEED}. */
export const DEMO_API_KEY = 'ks-emulator-demo-key';

const ACCOUNT = '1234567890abcdef1234567890abcdef';

/** The built-in seed; matches the example app in `main.ts`. */
export const DEFAULT_SEED: Seed = {
  instances: [
    { id: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', kind: 'key-protect', region: 'us-south' },
    { id: '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73', kind: 'hpcs', region: 'us-south' },
  ],
  keys: [
    {
      id: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
      instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20',
      name: 'payments-root',
      aliases: ['payments-root'],
      description: 'Root key for the payments ledger',
    },
    {
      id: 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9',
      instanceId: '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73',
      name: 'analytics-root',
      aliases: ['analytics-root'],
      description: 'Root key for the analytics data lake',
    },
  ],
  registrations: [
    {
      keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
      resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger`,
      description: 'payments ledger bucket',
    },
    {
      keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
      resourceCrn: `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::`,
      description: 'payments database',
    },
    {
      keyId: 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9',
      resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:analytics-raw`,
      description: 'analytics raw bucket',
    },
    {
      keyId: 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9',
      resourceCrn: `crn:v1:bluemix:public:messagehub:us-south:a/${ACCOUNT}:3d2c1b0a-9f8e-4d7c-b6a5-f4e3d2c1b0a9::`,
      description: 'analytics event streams',
    },
  ],
  apiKeys: [DEMO_API_KEY],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_-]{1,89}$/;
const RING = /^[A-Za-z0-9-]{2,100}$/;
const REGION = /^[a-z]{2,}-[a-z]{2,}$/;
const STATES: readonly number[] = [0, 1, 2, 3, 5];

/** True for a 10-field `crn:v1:...` CRN (the last two fields may be empty). */
export function isCrn(value: string): boolean {
  const parts = value.split(':');
  return parts.length === 10 && parts[0] === 'crn' && parts[1] === 'v1' && parts.slice(2, 8).every((p, i) => p !== '' || i === 4 || i === 5);
}


class SeedError extends Error {
  constructor(source: string, path: string, value: unknown, fix: string) {
    super(`${source}: ${path}: invalid value ${show(value)}: ${fix}`);
    this.name = 'SeedError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates seed JSON and returns it as a {@link Seed}. Throws an Error whose message
 * names `source`, the JSON path of the bad field (e.g. `$.keys[1].instanceId`), the value
 * and the fix. Checks references (key -> instance, registration -> key) and uniqueness.
 */
export function parseSeed(json: unknown, source: string): Seed {
  const err = (path: string, value: unknown, fix: string): never => {
    throw new SeedError(source, path, value, fix);
  };
  const known = (obj: Record<string, unknown>, path: string, fields: readonly string[]): void => {
    for (const k of Object.keys(obj)) if (!fields.includes(k)) err(`${path}.${k}`, obj[k], `unknown field; allowed fields are ${fields.join(', ')}`);
  };
  const str = (obj: Record<string, unknown>, path: string, field: string, re?: RegExp, fix?: string): string => {
    const v = obj[field];
    if (typeof v !== 'string' || v === '' || (re && !re.test(v))) err(`${path}.${field}`, v, fix ?? 'use a non-empty string');
    return v as string;
  };
  const optStr = (obj: Record<string, unknown>, path: string, field: string, fix = 'use a string'): string | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 1000) err(`${path}.${field}`, v, fix);
    return v as string;
  };
  const optDate = (obj: Record<string, unknown>, path: string, field: string): string | undefined => {
    const v = optStr(obj, path, field, 'use an RFC 3339 time such as "2026-01-31T12:00:00Z"');
    if (v !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v)))) {
      err(`${path}.${field}`, v, 'use an RFC 3339 time such as "2026-01-31T12:00:00Z"');
    }
    return v;
  };
  const array = (v: unknown, path: string, fix: string): unknown[] => {
    if (!Array.isArray(v)) err(path, v, fix);
    return v as unknown[];
  };

  if (!isObject(json)) err('$', json, 'a seed is a JSON object with "instances", "keys", "registrations" and "apiKeys"');
  const root = json as Record<string, unknown>;
  known(root, '$', ['instances', 'keys', 'registrations', 'apiKeys', 'faults', 'settings', '$schema', 'comment']);

  const instances: SeedInstance[] = [];
  const instanceIds = new Set<string>();
  array(root.instances, '$.instances', 'use an array of {"id", "kind", "region"}').forEach((raw, i) => {
    const p = `$.instances[${i}]`;
    if (!isObject(raw)) err(p, raw, 'use an object {"id": "<uuid>", "kind": "key-protect", "region": "us-south"}');
    const o = raw as Record<string, unknown>;
    known(o, p, ['id', 'kind', 'region']);
    const id = str(o, p, 'id', UUID, 'use the instance GUID, a UUID such as "0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20"');
    if (instanceIds.has(id.toLowerCase())) err(`${p}.id`, id, 'instance ids must be unique; remove the duplicate');
    instanceIds.add(id.toLowerCase());
    const kind = o.kind ?? 'key-protect';
    if (kind !== 'key-protect' && kind !== 'hpcs') err(`${p}.kind`, kind, 'use "key-protect" or "hpcs"');
    const region = str(o, p, 'region', REGION, 'use a region such as "us-south"');
    instances.push({ id, kind: kind as SeedInstance['kind'], region });
  });

  const keys: SeedKey[] = [];
  const keyIds = new Map<string, string>(); // id/alias (lowercased for ids) -> instance
  const refs = new Map<string, string>(); // `${instance}/${idOrAlias}` and bare id -> key id
  const versionIds = new Map<string, { ids: Set<string>; path: string }>(); // key id (lowercase) -> its version ids
  array(root.keys, '$.keys', 'use an array of key objects').forEach((raw, i) => {
    const p = `$.keys[${i}]`;
    if (!isObject(raw)) err(p, raw, 'use an object {"id", "instanceId", "name", "aliases"}');
    const o = raw as Record<string, unknown>;
    known(o, p, ['id', 'instanceId', 'name', 'aliases', 'keyRingID', 'state', 'extractable', 'imported', 'description', 'createdBy', 'creationDate', 'lastSyncDate', 'lastLifecycleActionDate', 'lastRotateDate', 'versions']);
    const id = str(o, p, 'id', UUID, 'use the key id, a UUID such as "4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84"');
    if (keyIds.has(id.toLowerCase())) err(`${p}.id`, id, 'key ids must be unique; remove the duplicate');
    const instanceId = str(o, p, 'instanceId', UUID, 'use the id of an instance in "instances"');
    if (!instanceIds.has(instanceId.toLowerCase())) err(`${p}.instanceId`, instanceId, 'no instance with this id in "instances"; add it there or fix the id');
    keyIds.set(id.toLowerCase(), instanceId);
    const name = str(o, p, 'name', /^.{1,90}$/, 'use a name of 1 to 90 characters');
    const aliases: string[] = [];
    if (o.aliases !== undefined) {
      array(o.aliases, `${p}.aliases`, 'use an array of alias strings').forEach((a, j) => {
        if (typeof a !== 'string' || !ALIAS.test(a) || UUID.test(a)) {
          err(`${p}.aliases[${j}]`, a, 'an alias is 2-90 letters, digits, "-" or "_", starts with a letter or digit, and is not a UUID');
        }
        const k = `${instanceId.toLowerCase()}/${a as string}`;
        if (refs.has(k)) err(`${p}.aliases[${j}]`, a, 'aliases must be unique within an instance');
        refs.set(k, id);
        aliases.push(a as string);
      });
    }
    refs.set(`${instanceId.toLowerCase()}/${id.toLowerCase()}`, id);
    refs.set(id.toLowerCase(), id);
    const key: { -readonly [K in keyof SeedKey]: SeedKey[K] } = { id, instanceId, name, aliases };
    if (o.keyRingID !== undefined) key.keyRingID = str(o, p, 'keyRingID', RING, 'use a key ring id of 2-100 letters, digits or "-" (default "default")');
    if (o.state !== undefined) {
      if (typeof o.state !== 'number' || !STATES.includes(o.state)) err(`${p}.state`, o.state, 'use 0 (pre-activation), 1 (active), 2 (suspended), 3 (deactivated) or 5 (destroyed)');
      key.state = o.state as KeyState;
    }
    if (o.extractable !== undefined) {
      if (typeof o.extractable !== 'boolean') err(`${p}.extractable`, o.extractable, 'use false for a root key or true for a standard key');
      key.extractable = o.extractable as boolean;
    }
    const description = optStr(o, p, 'description');
    if (description !== undefined) key.description = description;
    const createdBy = optStr(o, p, 'createdBy');
    if (createdBy !== undefined) key.createdBy = createdBy;
    if (o.imported !== undefined) {
      if (typeof o.imported !== 'boolean') err(`${p}.imported`, o.imported, 'use true for a key created from your own key material, false for one the service generated');
      key.imported = o.imported as boolean;
    }
    for (const f of ['creationDate', 'lastSyncDate', 'lastLifecycleActionDate', 'lastRotateDate'] as const) {
      const d = optDate(o, p, f);
      if (d !== undefined) key[f] = d;
    }
    const ids = new Set<string>([id.toLowerCase()]);
    if (o.versions !== undefined) {
      const fix = 'use an array of {"id": "<uuid>", "creationDate": "<RFC 3339>"}, oldest first; the last is the current version';
      const list = array(o.versions, `${p}.versions`, fix);
      if (list.length === 0 || list.length > 10_000) err(`${p}.versions`, o.versions, `${fix} (1 to 10000 of them)`);
      ids.clear();
      let previous = -Infinity;
      key.versions = list.map((raw, j) => {
        const vp = `${p}.versions[${j}]`;
        if (!isObject(raw)) err(vp, raw, fix);
        const v = raw as Record<string, unknown>;
        known(v, vp, ['id', 'creationDate']);
        const vid = str(v, vp, 'id', UUID, 'use a UUID such as "3f0b2c9e-8a7d-4e61-b5c4-0d9e8f7a6b5c"');
        if (ids.has(vid.toLowerCase())) err(`${vp}.id`, vid, 'version ids must be unique within a key; remove the duplicate');
        ids.add(vid.toLowerCase());
        const date = optDate(v, vp, 'creationDate');
        if (date === undefined) err(`${vp}.creationDate`, undefined, 'use an RFC 3339 time such as "2026-01-31T12:00:00Z"');
        if (Date.parse(date as string) < previous) err(`${vp}.creationDate`, date, 'list versions oldest first: each creationDate at or after the previous one');
        previous = Date.parse(date as string);
        return { id: vid, creationDate: date as string };
      });
    }
    versionIds.set(id.toLowerCase(), { ids, path: `${p}.versions` });
    keys.push(key);
  });

  const registrations: SeedRegistration[] = [];
  if (root.registrations !== undefined) {
    const seen = new Set<string>();
    array(root.registrations, '$.registrations', 'use an array of {"keyId", "resourceCrn"}').forEach((raw, i) => {
      const p = `$.registrations[${i}]`;
      if (!isObject(raw)) err(p, raw, 'use an object {"keyId": "<key id>", "resourceCrn": "crn:v1:..."}');
      const o = raw as Record<string, unknown>;
      known(o, p, ['keyId', 'resourceCrn', 'description', 'preventKeyDeletion', 'createdBy', 'creationDate', 'keyVersionId', 'catchUp']);
      const keyRef = str(o, p, 'keyId', undefined, 'use the id of a key in "keys"');
      const keyId = refs.get(keyRef.toLowerCase()) ?? [...instanceIds].map((inst) => refs.get(`${inst}/${keyRef}`)).find((x) => x !== undefined);
      if (keyId === undefined) err(`${p}.keyId`, keyRef, 'no key with this id or alias in "keys"; add the key or fix the id');
      const resourceCrn = str(o, p, 'resourceCrn', undefined, 'use a CRN such as "crn:v1:bluemix:public:cloud-object-storage:global:a/<account>:<instance>:bucket:<name>"');
      if (!isCrn(resourceCrn)) {
        err(`${p}.resourceCrn`, resourceCrn, 'a CRN has 10 colon-separated fields: crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<instance>:<type>:<resource>');
      }
      const dup = `${keyId as string}|${resourceCrn}`;
      if (seen.has(dup)) err(`${p}.resourceCrn`, resourceCrn, 'this key already has a registration for this CRN; remove the duplicate');
      seen.add(dup);
      const reg: { -readonly [K in keyof SeedRegistration]: SeedRegistration[K] } = { keyId: keyId as string, resourceCrn };
      const description = optStr(o, p, 'description');
      if (description !== undefined) reg.description = description;
      if (o.preventKeyDeletion !== undefined) {
        if (typeof o.preventKeyDeletion !== 'boolean') err(`${p}.preventKeyDeletion`, o.preventKeyDeletion, 'use true or false');
        reg.preventKeyDeletion = o.preventKeyDeletion as boolean;
      }
      const createdBy = optStr(o, p, 'createdBy');
      if (createdBy !== undefined) reg.createdBy = createdBy;
      const creationDate = optDate(o, p, 'creationDate');
      if (creationDate !== undefined) reg.creationDate = creationDate;
      if (o.keyVersionId !== undefined) {
        const history = versionIds.get((keyId as string).toLowerCase());
        const vid = o.keyVersionId;
        if (typeof vid !== 'string' || !history?.ids.has(vid.toLowerCase())) {
          err(`${p}.keyVersionId`, vid, `no version with this id in the key's versions; use one listed in ${history?.path ?? '"versions"'} (without "versions", only the key id, its first version)`);
        }
        reg.keyVersionId = vid as string;
      }
      if (o.catchUp !== undefined) {
        if (!(CATCH_UP_MODES as readonly unknown[]).includes(o.catchUp)) {
          err(`${p}.catchUp`, o.catchUp, 'use "auto" (follows rotations and syncs), "on-sync" (only syncs) or "never" (only the admin acknowledgement)');
        }
        reg.catchUp = o.catchUp as CatchUp;
      }
      registrations.push(reg);
    });
  }

  const apiKeys = array(root.apiKeys, '$.apiKeys', 'use an array of API key strings, e.g. ["ks-emulator-demo-key"]').map((k, i) => {
    if (typeof k !== 'string' || !/^[\x21-\x7e]{8,512}$/.test(k)) err(`$.apiKeys[${i}]`, '<redacted>', 'an API key is 8-512 printable ASCII characters without spaces');
    return k as string;
  });
  if (apiKeys.length === 0) err('$.apiKeys', [], 'add at least one API key so clients can get a token');

  let faults: Partial<Record<FaultTarget, readonly Fault[]>> | undefined;
  if (root.faults !== undefined) {
    if (!isObject(root.faults)) err('$.faults', root.faults, 'use an object of route name to an array of faults, e.g. {"keys.sync": [{"status": 503}]}');
    faults = {};
    for (const [route, list] of Object.entries(root.faults as Record<string, unknown>)) {
      try {
        const target = parseFaultTarget(route, `$.faults.${route}`);
        faults[target] = parseFaults(list, `$.faults.${route}`);
      } catch (e) {
        throw new Error(`${source}: ${(e as Error).message}`);
      }
    }
  }

  let settings: EmulatorSettingsInput | undefined;
  if (root.settings !== undefined) {
    try {
      settings = parseSettings(root.settings, '$.settings');
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
  }

  const seed: { -readonly [K in keyof Seed]: Seed[K] } = { instances, keys, registrations, apiKeys };
  if (faults) seed.faults = faults;
  if (settings) seed.settings = settings;
  return seed;
}

/** Reads and validates a seed file (see {@link parseSeed}). */
export async function loadSeedFile(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read seed file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the --seed path`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`Seed file ${path} is not valid JSON (${(e as Error).message}); fix the syntax`);
  }
  return parseSeed(json, path);
}
