/**
 * argv + environment -> a validated command, or a usage error (exit 2) whose message
 * names the flag, the value and the fix. Pure: nothing is read or sent before this
 * succeeds (a --keys-file is read, and checked, by the fleet command before any request).
 */
import { DEFAULT_GRACE_HOURS, DEFAULT_MAX_WAIT_SECONDS, checkGraceHours, checkKeyId, checkMarker, checkMaxWaitSeconds, checkRequestedAt, parseRfc3339 } from '../domain';
import { apiConfig, type ApiConfig } from './endpoint-config';
import { REGISTRATIONS_OPTIONS, ROTATE_OPTIONS, STATUS_OPTIONS, SYNC_OPTIONS, UsageError, checked, nearestFlag, parseFlags, printable, single, usage, wholeNumber, type Env } from './flags';
import { COMMAND_NAMES, type HelpTopic } from './help';
import { parseReportArgs, type ReportConfig } from './report-args';

export type { Env } from './flags';
export type { ApiConfig } from './endpoint-config';

export interface SyncConfig extends ApiConfig {
  readonly keyId: string;
  readonly maxWaitSeconds: number;
  readonly verifyRegistrations: boolean;
  /** --if-behind: the grace period in hours; sync only when the key is behind. */
  readonly ifBehindGraceHours?: number;
  /** --rotation-requested-at: the requested-at time of the key's declared rotation (runs before this sync). */
  readonly rotationRequestedAt?: Date;
}

/** `key-sync rotate`: one rotation for a declared generation. */
export interface RotateConfig extends ApiConfig {
  readonly keyId: string;
  readonly generation: string;
  readonly requestedAt: Date;
  readonly maxWaitSeconds: number;
}

/** Default and limits of --concurrency (fleet sync). */
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 64;

/** A sync of many keys: repeated --key-id and/or --keys-file, or --all-registered. */
export interface FleetSyncConfig extends ApiConfig {
  /** Keys from repeated --key-id, in order (already validated). */
  readonly keyIds: readonly string[];
  readonly keysFile?: string;
  readonly allRegistered: boolean;
  readonly maxWaitSeconds: number;
  readonly concurrency: number;
  /** --if-behind: the grace period in hours; sync only the keys that are behind. */
  readonly ifBehindGraceHours?: number;
}

/** `key-sync status`: keys from repeated --key-id and/or --keys-file, or --all-registered. */
export interface StatusConfig extends ApiConfig {
  readonly keyIds: readonly string[];
  readonly keysFile?: string;
  readonly allRegistered: boolean;
  readonly graceHours: number;
  readonly concurrency: number;
}

export interface RegistrationsConfig extends ApiConfig {
  readonly keyId?: string;
  readonly crnQuery?: string;
}

export type Command =
  | { readonly kind: 'sync'; readonly config: SyncConfig }
  | { readonly kind: 'fleet-sync'; readonly config: FleetSyncConfig }
  | { readonly kind: 'rotate'; readonly config: RotateConfig }
  | { readonly kind: 'registrations'; readonly config: RegistrationsConfig }
  | { readonly kind: 'status'; readonly config: StatusConfig }
  | { readonly kind: 'report'; readonly config: ReportConfig }
  | { readonly kind: 'emulator'; readonly argv: readonly string[] }
  | { readonly kind: 'help'; readonly topic?: HelpTopic }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string; readonly topic?: HelpTopic };

function maxWait(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_MAX_WAIT_SECONDS;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  const p = checkMaxWaitSeconds(n);
  if (p !== undefined) usage(`--max-wait "${printable(raw)}" ${Number.isNaN(n) ? 'is not a whole number of seconds' : p.problem}; ${p.fix}`);
  return n;
}

function graceHours(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_GRACE_HOURS;
  const t = raw.trim();
  const n = /^\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
  const p = checkGraceHours(n);
  if (p !== undefined) usage(`--grace-hours "${printable(raw)}" ${p.problem}; ${p.fix}`);
  return n;
}

/** The keys of a command that takes several: repeated --key-id (checked), --keys-file, --all-registered. */
function keySelection(values: { 'key-id'?: string[] | undefined; 'keys-file'?: string | undefined; 'all-registered'?: boolean | undefined }, what: string): { keyIds: string[]; keysFile?: string; allRegistered: boolean } {
  const keyIds = values['key-id'] ?? [];
  const keysFile = values['keys-file'];
  const allRegistered = values['all-registered'] === true;
  if (allRegistered && (keyIds.length > 0 || keysFile !== undefined)) {
    usage(`--all-registered ${what} every key that has a registration; give it without ${keyIds.length > 0 ? '--key-id' : '--keys-file'}`);
  }
  if (keysFile === '') usage('--keys-file needs a file name, e.g. --keys-file keys.txt (one key id or alias per line)');
  for (const k of keyIds) {
    if (k === '') usage('--key-id needs a value: the root key\'s UUID or alias');
    checked('--key-id', k, checkKeyId(k));
  }
  return { keyIds, ...(keysFile === undefined ? {} : { keysFile }), allRegistered };
}

function parseStatus(args: readonly string[], env: Env): Command {
  const values = parseFlags('status', args, STATUS_OPTIONS);
  if (values.help === true) return { kind: 'help', topic: 'status' };
  const sel = keySelection(values, 'reports on');
  if (sel.keyIds.length === 0 && sel.keysFile === undefined && !sel.allRegistered) {
    usage('say which keys: --key-id ID (repeatable), --keys-file FILE or --all-registered');
  }
  const concurrency = values.concurrency === undefined
    ? DEFAULT_CONCURRENCY
    : wholeNumber('--concurrency', values.concurrency, 1, MAX_CONCURRENCY, `it bounds how many requests are in flight (default ${DEFAULT_CONCURRENCY})`);
  const grace = graceHours(values['grace-hours']);
  const api = apiConfig(values, env, 'status');
  return { kind: 'status', config: { ...api, ...sel, graceHours: grace, concurrency } };
}

function parseSync(args: readonly string[], env: Env): Command {
  const values = parseFlags('sync', args, SYNC_OPTIONS);
  if (values.help === true) return { kind: 'help', topic: 'sync' };
  const keyIds = values['key-id'] ?? [];
  const keysFile = values['keys-file'];
  const allRegistered = values['all-registered'] === true;
  const fleet = keyIds.length > 1 || keysFile !== undefined || allRegistered;
  if (allRegistered && (keyIds.length > 0 || keysFile !== undefined)) {
    usage(`--all-registered syncs every key that has a registration; give it without ${keyIds.length > 0 ? '--key-id' : '--keys-file'}`);
  }
  if (keysFile === '') usage('--keys-file needs a file name, e.g. --keys-file keys.txt (one key id or alias per line)');
  if (!fleet && (keyIds[0] === undefined || keyIds[0] === '')) usage('--key-id is required: give the root key\'s UUID or alias, e.g. --key-id 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84 (or --keys-file FILE, or --all-registered)');
  // Check the keys before the rest so the most common mistake is reported first.
  for (const k of keyIds) {
    if (k === '') usage('--key-id needs a value: the root key\'s UUID or alias');
    checked('--key-id', k, checkKeyId(k));
  }
  const concurrency = values.concurrency === undefined
    ? DEFAULT_CONCURRENCY
    : wholeNumber('--concurrency', values.concurrency, 1, MAX_CONCURRENCY, `it bounds how many requests a fleet sync has in flight (default ${DEFAULT_CONCURRENCY})`);
  if (fleet && values['verify-registrations'] === true) {
    usage('--verify-registrations checks one key; with several keys use --all-registered, which syncs only keys that have registrations');
  }
  const rotationRaw = values['rotation-requested-at'];
  if (rotationRaw !== undefined && fleet) usage('--rotation-requested-at goes with the sync of one key (the one its rotation rotated); give one --key-id');
  const rotationRequestedAt = rotationRaw === undefined ? undefined : requestedAt('--rotation-requested-at', rotationRaw);
  const maxWaitSeconds = maxWait(values['max-wait']);
  if (values['grace-hours'] !== undefined && values['if-behind'] !== true) usage('--grace-hours goes with --if-behind (or `key-sync status`); add --if-behind, or drop it');
  const ifBehind = values['if-behind'] === true ? { ifBehindGraceHours: graceHours(values['grace-hours']) } : {};
  const api = apiConfig(values, env, 'sync');
  if (fleet) {
    return { kind: 'fleet-sync', config: { ...api, keyIds, ...(keysFile === undefined ? {} : { keysFile }), allRegistered, maxWaitSeconds, concurrency, ...ifBehind } };
  }
  return {
    kind: 'sync',
    config: { ...api, keyId: keyIds[0] ?? '', maxWaitSeconds, verifyRegistrations: values['verify-registrations'] === true, ...ifBehind, ...(rotationRequestedAt === undefined ? {} : { rotationRequestedAt }) },
  };
}

function requestedAt(flag: string, raw: string): Date {
  checked(flag, raw, checkRequestedAt(raw));
  return new Date(parseRfc3339(raw) ?? NaN);
}

function parseRotate(args: readonly string[], env: Env): Command {
  const values = parseFlags('rotate', args, ROTATE_OPTIONS);
  if (values.help === true) return { kind: 'help', topic: 'rotate' };
  const keyId = single('--key-id', values['key-id']);
  if (keyId === undefined || keyId === '') usage('--key-id is required: give the root key\'s UUID or alias, e.g. --key-id 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84');
  checked('--key-id', keyId, checkKeyId(keyId));
  const generation = values.generation;
  if (generation === undefined) usage("--generation is required: the declared generation this rotation is for, e.g. --generation 2026-Q4");
  checked('--generation', generation, checkMarker(generation));
  const raw = values['requested-at'];
  if (raw === undefined) usage('--requested-at is required: the time the generation was first requested (RFC 3339, e.g. 2026-11-28T21:38:43Z); a rotation at or after it means this generation is done');
  const at = requestedAt('--requested-at', raw);
  const maxWaitSeconds = maxWait(values['max-wait']);
  const api = apiConfig(values, env, 'rotate');
  return { kind: 'rotate', config: { ...api, keyId, generation, requestedAt: at, maxWaitSeconds } };
}

function parseRegistrations(args: readonly string[], env: Env): Command {
  const values = parseFlags('registrations', args, REGISTRATIONS_OPTIONS);
  if (values.help === true) return { kind: 'help', topic: 'registrations' };
  const keyRaw = single('--key-id', values['key-id']);
  const keyId = keyRaw === undefined ? undefined : checked('--key-id', keyRaw, checkKeyId(keyRaw));
  let crnQuery: string | undefined;
  if (values.crn !== undefined) {
    const c = values.crn;
    // A CRN query may hold * wildcards, so only its shape is checked here.
    // eslint-disable-next-line no-control-regex
    if (!c.startsWith('crn:v1:') || c.split(':').length !== 10 || /[\s\u0000-\u001f]/.test(c) || c.length > 512) {
      usage(`--crn "${printable(c)}" is not a CRN query; use crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<service-instance>:<resource-type>:<resource> (10 fields, * as a wildcard)`);
    }
    crnQuery = c;
  }
  const api = apiConfig(values, env, 'registrations');
  return { kind: 'registrations', config: { ...api, ...(keyId === undefined ? {} : { keyId }), ...(crnQuery === undefined ? {} : { crnQuery }) } };
}

function withTopic(topic: HelpTopic, parse: () => Command): Command {
  try {
    return parse();
  } catch (e) {
    if (e instanceof UsageError) return { kind: 'usage-error', message: e.message, topic };
    throw e;
  }
}

const commandList = (): string => `${COMMAND_NAMES.slice(0, -1).join(', ')} and ${COMMAND_NAMES.at(-1) ?? ''}`;

/** Parses `key-sync <command> [flags]` (argv without node and the script). Pure. */
export function parseCommand(argv: readonly string[], env: Env): Command {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      return { kind: 'usage-error', message: `no command given; the commands are ${commandList()}` };
    case '--help':
    case '-h':
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) return { kind: 'help' };
      if (topic === 'sync' || topic === 'rotate' || topic === 'registrations' || topic === 'status' || topic === 'report') return { kind: 'help', topic };
      if (topic === 'emulator') return { kind: 'emulator', argv: ['--help'] };
      if (COMMAND_NAMES.includes(topic)) return { kind: 'help' };
      return { kind: 'usage-error', message: `no help for "${printable(topic)}": the commands are ${commandList()}` };
    }
    case '--version':
    case '-V':
    case 'version':
      return { kind: 'version' };
    case 'sync':
      return withTopic('sync', () => parseSync(rest, env));
    case 'registrations':
      return withTopic('registrations', () => parseRegistrations(rest, env));
    case 'rotate':
      return withTopic('rotate', () => parseRotate(rest, env));
    case 'status':
      return withTopic('status', () => parseStatus(rest, env));
    case 'emulator':
      return { kind: 'emulator', argv: rest };
    case 'report':
      return withTopic('report', () => {
        const config = parseReportArgs(rest, env);
        return config === 'help' ? { kind: 'help', topic: 'report' } : { kind: 'report', config };
      });
    default: {
      if (first.startsWith('-')) {
        return { kind: 'usage-error', message: `unknown flag ${printable(first)} before the command; flags go after it, e.g. \`key-sync sync --instance-id ID ...\`; the commands are ${commandList()}` };
      }
      const near = nearestFlag(first, COMMAND_NAMES);
      return { kind: 'usage-error', message: `unknown command "${printable(first)}"${near === undefined ? '' : `; did you mean ${near}?`}; the commands are ${commandList()}` };
    }
  }
}
