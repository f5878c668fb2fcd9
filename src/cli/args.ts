/**
 * Pure command-line parsing: argv + environment -> a validated command, or a usage error
 * (exit 2) whose message names the flag, the value and the fix. Nothing is sent before
 * this succeeds.
 *
 * Parsing uses `node:util` `parseArgs`: maintained with Node itself, already loaded by the
 * runtime (zero extra start-up cost, no dependency in the bundle), strict about unknown
 * flags and missing values.
 */
import { parseArgs } from 'node:util';
import { baseUrlFor, checkEndpointUrl, displayUrl, isKnownRegion, isValidHpcsPort, regionsOf, HPCS_PORT_MAX, HPCS_PORT_MIN, type KmsService } from '../domain/endpoints';
import { credentialsFromEnv, type Credentials } from '../client/iam';
import { DEFAULT_MAX_WAIT_SECONDS, checkInstanceId, checkKeyId, checkKeyRing, checkMaxWaitSeconds, MAX_WAIT_SECONDS_LIMIT } from '../domain';
export { DEFAULT_MAX_WAIT_SECONDS } from '../domain';

export type Env = Readonly<Record<string, string | undefined>>;


/** Settings common to commands that call the key API. */
export interface ApiConfig {
  readonly instanceId: string;
  /** Validated key-management base URL (no trailing slash). */
  readonly baseUrl: string;
  /** How the endpoint was chosen, for messages. */
  readonly endpointSource: 'IBMCLOUD_KP_API_ENDPOINT' | '--endpoint' | '--region';
  readonly keyRing?: string;
  readonly json: boolean;
  /** Never printed. */
  readonly credentials: Credentials;
  /** Test hook KEY_SYNC_TIME_SCALE: multiplies every wait (backoff, Retry-After, gate). 1 in real use. */
  readonly timeScale: number;
  /** Test hook KEY_SYNC_ATTEMPT_TIMEOUT_MS: per-attempt timeout. Default 30 s. */
  readonly attemptTimeoutMs?: number;
  /** Things worth telling the user that are not errors. */
  readonly notes: readonly string[];
}

export interface SyncConfig extends ApiConfig {
  readonly keyId: string;
  readonly maxWaitSeconds: number;
  readonly verifyRegistrations: boolean;
}

/** Default and limits of --concurrency (fleet sync). */
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 64;

/**
 * A sync of many keys: repeated --key-id and/or --keys-file, or --all-registered. The
 * keys file is read by run.ts (this module does no I/O) and checked by
 * {@link parseKeysFile} before any request is sent.
 */
export interface FleetSyncConfig extends ApiConfig {
  /** Keys from repeated --key-id, in order (already validated). */
  readonly keyIds: readonly string[];
  readonly keysFile?: string;
  readonly allRegistered: boolean;
  readonly maxWaitSeconds: number;
  readonly concurrency: number;
}

export interface RegistrationsConfig extends ApiConfig {
  readonly keyId?: string;
  readonly crnQuery?: string;
}

export type Command =
  | { readonly kind: 'sync'; readonly config: SyncConfig }
  | { readonly kind: 'fleet-sync'; readonly config: FleetSyncConfig }
  | { readonly kind: 'registrations'; readonly config: RegistrationsConfig }
  | { readonly kind: 'emulator'; readonly argv: readonly string[] }
  | { readonly kind: 'help'; readonly topic?: 'sync' | 'registrations' }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string; readonly topic?: 'sync' | 'registrations' };

const SERVICES: readonly KmsService[] = ['key-protect', 'hpcs'];

const endpointOptions = {
  'instance-id': { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  service: { type: 'string' },
  port: { type: 'string' },
  private: { type: 'boolean' },
  'key-ring': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const syncOptions = {
  ...endpointOptions,
  // Repeated --key-id, --keys-file or --all-registered: a fleet sync.
  'key-id': { type: 'string', multiple: true },
  'keys-file': { type: 'string' },
  'all-registered': { type: 'boolean' },
  concurrency: { type: 'string' },
  'max-wait': { type: 'string' },
  'verify-registrations': { type: 'boolean' },
} as const;

const registrationsOptions = {
  ...endpointOptions,
  'key-id': { type: 'string', multiple: true },
  crn: { type: 'string' },
} as const;

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

/** Turns parseArgs' errors into our wording. */
function parseArgsMessage(e: unknown, command: string): string {
  const err = e as { code?: string; message?: string };
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? ''} for \`key-sync ${command}\`; run \`key-sync ${command} --help\` for the flags`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message ?? '')
        ? `${flag ?? 'a flag'} needs a value, e.g. ${flag ?? '--flag'} VALUE`
        : `${flag ?? 'a switch'} takes no value; give it alone`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${/'([^']*)'/.exec(err.message ?? '')?.[1] ?? ''}" for \`key-sync ${command}\`; every value goes after its flag, e.g. --key-id ID`;
    default:
      return `${err.message ?? String(e)}`;
  }
}

function checked(flag: string, value: string, problem: { problem: string; fix: string } | undefined): string {
  if (problem !== undefined) usage(`${flag} "${printable(value)}" ${problem.problem}; ${problem.fix}`);
  return value;
}

/** A value safe to echo in a message (flags never hold secrets; still cut and cleaned). */
function printable(v: string): string {
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function single(flag: string, values: readonly string[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) usage(`${flag} given ${values.length} times; give one key per call`);
  return values[0];
}

function testHooks(env: Env): { timeScale: number; attemptTimeoutMs?: number } {
  let timeScale = 1;
  const rawScale = env['KEY_SYNC_TIME_SCALE'];
  if (rawScale !== undefined && rawScale !== '') {
    timeScale = Number(rawScale);
    if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1) {
      usage(`KEY_SYNC_TIME_SCALE "${printable(rawScale)}" is not a number in (0, 1]; it is a test hook, unset it in real use`);
    }
  }
  const rawTimeout = env['KEY_SYNC_ATTEMPT_TIMEOUT_MS'];
  if (rawTimeout !== undefined && rawTimeout !== '') {
    const ms = Number(rawTimeout);
    if (!/^\d+$/.test(rawTimeout) || ms < 1 || ms > 600_000) {
      usage(`KEY_SYNC_ATTEMPT_TIMEOUT_MS "${printable(rawTimeout)}" is not a whole number of ms from 1 to 600000; it is a test hook, unset it in real use`);
    }
    return { timeScale, attemptTimeoutMs: ms };
  }
  return { timeScale };
}

interface EndpointValues {
  readonly 'instance-id'?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  readonly service?: string | undefined;
  readonly port?: string | undefined;
  readonly private?: boolean | undefined;
  readonly 'key-ring'?: string | undefined;
  readonly json?: boolean | undefined;
}

function apiConfig(v: EndpointValues, env: Env, command: string): ApiConfig {
  const instanceRaw = v['instance-id'];
  if (instanceRaw === undefined || instanceRaw === '') usage(`--instance-id is required: give the service instance GUID, e.g. key-sync ${command} --instance-id 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20 ...`);
  const instanceId = checked('--instance-id', instanceRaw, checkInstanceId(instanceRaw));
  const keyRing = v['key-ring'] === undefined ? undefined : checked('--key-ring', v['key-ring'], checkKeyRing(v['key-ring']));

  // Endpoint: --endpoint URL | --region R [--service S] [--port N] [--private];
  // IBMCLOUD_KP_API_ENDPOINT overrides either (e.g. to point a pipeline at the emulator).
  const notes: string[] = [];
  if (v.endpoint !== undefined && v.region !== undefined) usage('give either --endpoint URL or --region REGION, not both');
  if (v.endpoint !== undefined && (v.service !== undefined || v.port !== undefined || v.private === true)) {
    usage('--service, --port and --private go with --region; with --endpoint give the full URL instead');
  }
  if (v.region === undefined && (v.service !== undefined || v.port !== undefined || v.private === true)) {
    usage('--service, --port and --private need --region REGION (e.g. --region us-south)');
  }
  let service: KmsService = 'key-protect';
  if (v.service !== undefined) {
    if (!(SERVICES as readonly string[]).includes(v.service)) usage(`--service "${printable(v.service)}" is not a service; use key-protect or hpcs`);
    service = v.service as KmsService;
  }
  let port: number | undefined;
  if (v.port !== undefined) {
    if (service !== 'hpcs') usage('--port is only for --service hpcs (Key Protect endpoints have no port)');
    port = /^\d+$/.test(v.port) ? Number(v.port) : NaN;
    if (!isValidHpcsPort(port)) usage(`--port "${printable(v.port)}" is not an HPCS key-management port; use a whole number from ${HPCS_PORT_MIN} to ${HPCS_PORT_MAX}, or omit it for the instance host name`);
  }
  if (v.region !== undefined && !isKnownRegion(service, v.region)) {
    usage(`--region "${printable(v.region)}" is not a ${service === 'hpcs' ? 'Hyper Protect Crypto Services' : 'Key Protect'} region; use one of ${regionsOf(service).join(', ')}, or --endpoint URL`);
  }

  let baseUrl: string;
  let endpointSource: ApiConfig['endpointSource'];
  const envEndpoint = env['IBMCLOUD_KP_API_ENDPOINT'];
  if (envEndpoint !== undefined && envEndpoint.trim() !== '') {
    const c = checkEndpointUrl(envEndpoint.trim());
    if (!c.ok) usage(`IBMCLOUD_KP_API_ENDPOINT "${printable(displayUrl(envEndpoint.trim()))}" ${c.problem}; ${c.fix}`);
    baseUrl = c.url;
    endpointSource = 'IBMCLOUD_KP_API_ENDPOINT';
    if (v.endpoint !== undefined || v.region !== undefined) notes.push(`IBMCLOUD_KP_API_ENDPOINT overrides ${v.endpoint !== undefined ? '--endpoint' : '--region'}: using ${c.url}`);
  } else if (v.endpoint !== undefined) {
    const c = checkEndpointUrl(v.endpoint);
    if (!c.ok) usage(`--endpoint "${printable(displayUrl(v.endpoint))}" ${c.problem}; ${c.fix}`);
    baseUrl = c.url;
    endpointSource = '--endpoint';
  } else if (v.region !== undefined) {
    baseUrl = baseUrlFor({ service, region: v.region, instanceId, ...(port === undefined ? {} : { port }), privateEndpoint: v.private === true });
    endpointSource = '--region';
  } else {
    usage('no endpoint: give --region REGION (e.g. --region us-south [--service hpcs]), --endpoint URL, or set IBMCLOUD_KP_API_ENDPOINT');
  }

  const cred = credentialsFromEnv(env);
  if (!cred.ok) usage(`${cred.problem}; ${cred.fix}`);
  const hooks = testHooks(env);
  return {
    instanceId,
    baseUrl,
    endpointSource,
    ...(keyRing === undefined ? {} : { keyRing }),
    json: v.json === true,
    credentials: cred.credentials,
    timeScale: hooks.timeScale,
    ...(hooks.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: hooks.attemptTimeoutMs }),
    notes,
  };
}

function parseSync(args: string[], env: Env): Command {
  let values: { [K in keyof typeof syncOptions]?: (typeof syncOptions)[K] extends { type: 'boolean' } ? boolean : (typeof syncOptions)[K] extends { multiple: true } ? string[] : string };
  try {
    ({ values } = parseArgs({ args, options: syncOptions, strict: true, allowPositionals: false }));
  } catch (e) {
    return { kind: 'usage-error', message: parseArgsMessage(e, 'sync'), topic: 'sync' };
  }
  if (values.help === true) return { kind: 'help', topic: 'sync' };
  try {
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
    let concurrency = DEFAULT_CONCURRENCY;
    if (values.concurrency !== undefined) {
      const c = values.concurrency.trim();
      concurrency = /^\d+$/.test(c) ? Number(c) : NaN;
      if (!(concurrency >= 1 && concurrency <= MAX_CONCURRENCY)) usage(`--concurrency "${printable(values.concurrency)}" is not a whole number from 1 to ${MAX_CONCURRENCY}; it bounds how many requests a fleet sync has in flight (default ${DEFAULT_CONCURRENCY})`);
    }
    if (fleet && values['verify-registrations'] === true) {
      usage('--verify-registrations checks one key; with several keys use --all-registered, which syncs only keys that have registrations');
    }
    let maxWaitSeconds = DEFAULT_MAX_WAIT_SECONDS;
    const mw = values['max-wait'];
    if (mw !== undefined) {
      const n = /^\d+$/.test(mw.trim()) ? Number(mw.trim()) : NaN;
      const p = checkMaxWaitSeconds(n);
      if (p !== undefined) usage(`--max-wait "${printable(mw)}" ${Number.isNaN(n) ? 'is not a whole number of seconds' : p.problem}; ${p.fix}`);
      maxWaitSeconds = n;
    }
    const api = apiConfig(values, env, 'sync');
    if (fleet) {
      return { kind: 'fleet-sync', config: { ...api, keyIds, ...(keysFile === undefined ? {} : { keysFile }), allRegistered, maxWaitSeconds, concurrency } };
    }
    const keyId = keyIds[0] ?? '';
    return { kind: 'sync', config: { ...api, keyId, maxWaitSeconds, verifyRegistrations: values['verify-registrations'] === true } };
  } catch (e) {
    if (e instanceof UsageError) return { kind: 'usage-error', message: e.message, topic: 'sync' };
    throw e;
  }
}

function parseRegistrations(args: string[], env: Env): Command {
  let values: { [K in keyof typeof registrationsOptions]?: (typeof registrationsOptions)[K] extends { type: 'boolean' } ? boolean : (typeof registrationsOptions)[K] extends { multiple: true } ? string[] : string };
  try {
    ({ values } = parseArgs({ args, options: registrationsOptions, strict: true, allowPositionals: false }));
  } catch (e) {
    return { kind: 'usage-error', message: parseArgsMessage(e, 'registrations'), topic: 'registrations' };
  }
  if (values.help === true) return { kind: 'help', topic: 'registrations' };
  try {
    const keyRaw = single('--key-id', values['key-id']);
    const keyId = keyRaw === undefined ? undefined : checked('--key-id', keyRaw, checkKeyId(keyRaw));
    let crnQuery: string | undefined;
    if (values.crn !== undefined) {
      const c = values.crn;
      // A CRN query may hold * wildcards, so only its shape is checked here.
      if (!c.startsWith('crn:v1:') || c.split(':').length !== 10 || /[\s\u0000-\u001f]/.test(c) || c.length > 512) {
        usage(`--crn "${printable(c)}" is not a CRN query; use crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<service-instance>:<resource-type>:<resource> (10 fields, * as a wildcard)`);
      }
      crnQuery = c;
    }
    const api = apiConfig(values, env, 'registrations');
    return { kind: 'registrations', config: { ...api, ...(keyId === undefined ? {} : { keyId }), ...(crnQuery === undefined ? {} : { crnQuery }) } };
  } catch (e) {
    if (e instanceof UsageError) return { kind: 'usage-error', message: e.message, topic: 'registrations' };
    throw e;
  }
}

/** Largest --keys-file read (a million keys is about 40 MB; nobody has that many). */
export const KEYS_FILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The keys of a --keys-file: one key id or alias per line; `#` starts a comment; blank
 * lines are ignored; surrounding blanks (and CR of CRLF files) are trimmed. A bad line is
 * a usage error naming the file, the line number, the value and the fix. Duplicates are
 * kept once (first place) and reported as a note. Pure.
 */
export function parseKeysFile(text: string, file: string): { ok: true; keys: string[]; duplicates: number } | { ok: false; message: string } {
  const keys: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const hash = raw.indexOf('#');
    const value = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (value === '') continue;
    const problem = checkKeyId(value);
    if (problem !== undefined) {
      return { ok: false, message: `--keys-file ${printable(file)} line ${i + 1}: "${printable(value)}" ${problem.problem}; ${problem.fix} (one key per line, # for comments)` };
    }
    if (seen.has(value)) {
      duplicates++;
      continue;
    }
    seen.add(value);
    keys.push(value);
  }
  if (keys.length === 0) return { ok: false, message: `--keys-file ${printable(file)} lists no keys; put one key id or alias per line (# for comments)` };
  return { ok: true, keys, duplicates };
}

/** Parses `key-sync <command> [flags]` (argv without node and the script). Pure. */
export function parseCommand(argv: readonly string[], env: Env): Command {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      return { kind: 'usage-error', message: 'no command given; use `key-sync sync ...` or `key-sync registrations ...`' };
    case '--help':
    case '-h':
    case 'help':
      return rest[0] === 'sync' || rest[0] === 'registrations' ? { kind: 'help', topic: rest[0] } : { kind: 'help' };
    case '--version':
    case '-V':
    case 'version':
      return { kind: 'version' };
    case 'sync':
      return parseSync(rest, env);
    case 'registrations':
      return parseRegistrations(rest, env);
    case 'emulator':
      return { kind: 'emulator', argv: rest };
    default:
      return {
        kind: 'usage-error',
        message: first.startsWith('-')
          ? `unknown flag ${printable(first)} before the command; use \`key-sync sync|registrations|emulator [flags]\``
          : `unknown command "${printable(first)}"; the commands are sync, registrations and emulator`,
      };
  }
}

export const HELP = `key-sync: re-notify the resources associated with an IBM Key Protect / Hyper Protect
Crypto Services root key (POST /api/v2/keys/{id}/actions/sync), gate-aware.

Usage:
  key-sync sync --instance-id ID --key-id ID
                [--endpoint URL | --region R [--service key-protect|hpcs] [--port N] [--private]]
                [--key-ring RING] [--max-wait SECONDS] [--verify-registrations] [--json]
  key-sync sync --instance-id ID (--key-id ID --key-id ID... | --keys-file FILE | --all-registered)
                [--concurrency N] [endpoint flags] [--key-ring RING] [--max-wait SECONDS] [--json]
  key-sync registrations --instance-id ID [--key-id ID] [--crn CRN-QUERY] [endpoint flags] [--json]
  key-sync emulator [--port N] [--host 127.0.0.1] [--seed FILE]
  key-sync --help | --version

Flags:
  --instance-id ID        service instance GUID (required)
  --key-id ID             root key UUID or alias (required for sync)
  --endpoint URL          key-management API base URL (https://; http:// only to loopback)
  --region R              region; with --service key-protect (default) or hpcs
  --port N                HPCS key-management port (${HPCS_PORT_MIN}-${HPCS_PORT_MAX}); no port: instance host name
  --private               use the private endpoint
  --key-ring RING         send X-Kms-Key-Ring
  --max-wait SECONDS      how long to wait for the sync time gate, from the start
                          (default ${DEFAULT_MAX_WAIT_SECONDS}; 0 = never wait; at most ${MAX_WAIT_SECONDS_LIMIT})
  --verify-registrations  list the key's registrations first; warn if there are none
  --keys-file FILE        sync every key listed in FILE (one id or alias per line, # comments)
  --all-registered        sync every key of the instance that has a registration
  --concurrency N         fleet sync: at most N requests in flight (default ${DEFAULT_CONCURRENCY}, 1-${MAX_CONCURRENCY});
                          one token, one connection pool, one shared backoff (a 429 or 5xx
                          pauses every worker); gated keys wait side by side, each within
                          --max-wait; one failing key never stops the others. Exit code:
                          the worst outcome (1 over 75 over 0); --json prints
                          {outcome, counts, keys: [one sync object per key]}
  --crn CRN-QUERY         registrations: filter by resource CRN (* wildcards allowed)
  --json                  print one JSON object instead of text

Retries: each HTTP attempt times out after 30 s. Network errors, 408, 429 and 5xx except
501 are retried at most 4 times with exponential backoff (about 1 s doubling to 30 s,
jitter; Retry-After honoured) and never past 2 minutes from the start of the call. A 409
REQ_TOO_EARLY_ERR (the gate, about an hour after a sync or key change) is waited out only
if it opens within --max-wait; the gate wait is bounded by --max-wait on its own.

Environment (credentials come only from here, never from flags):
  IBMCLOUD_API_KEY, else IC_API_KEY      API key, exchanged for a token at
  IBMCLOUD_IAM_API_ENDPOINT              (default https://iam.cloud.ibm.com)/identity/token
  IBMCLOUD_IAM_TOKEN, else IC_IAM_TOKEN  a ready IAM token (used when no API key is set)
  IBMCLOUD_KP_API_ENDPOINT               overrides the key-management endpoint
  KEY_SYNC_TIME_SCALE                    test hook only: multiplies every wait (0 < x <= 1)
  KEY_SYNC_ATTEMPT_TIMEOUT_MS            test hook only: per-attempt timeout in ms

Exit codes:
  0   sync accepted (2xx), or listing done
  75  not done yet, retry later: the gate opens after --max-wait, 429/5xx/network failures
      outlasted the retry budget, or interrupted (SIGINT/SIGTERM) before the sync was accepted
  1   permanent failure: 400, 401 (after one token refresh), 403, 404, 410, 422, 501,
      any other 409, IAM refused the API key, a TLS certificate not accepted or an
      https:// port answering plain HTTP, response headers over Node's limit
  2   usage or configuration error, found before any request is sent
`;
