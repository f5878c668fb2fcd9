import { ROUTE_NAMES, type RouteName } from './routes';

/**
 * Scripted misbehaviour for the next responses of a route. Plain JSON, so it can come
 * from a seed file, the admin API or a test.
 *
 * How a fault is applied (see `server.ts`):
 * 1. `delayMs` waits first, on the real timer.
 * 2. `hang` never answers; `reset: 'before-headers'` drops the connection without running
 *    the handler; `reset: 'after-handler'` runs the real handler (a rotation or sync
 *    happens) and then drops the connection before any response header, as a gateway or
 *    network failure after the service acted would.
 * 3. With `status`, `body`, `htmlBody` or `oversizeBytes`, the response is synthetic and
 *    the real handler does NOT run (a faulted sync does not move the gate). `status`
 *    defaults to 500 (200 with only `oversizeBytes`); without a body it gets a realistic
 *    error body for the status (IAM-shaped on `iam.token`).
 * 4. Otherwise the real handler runs and its response is altered: extra `headers`,
 *    `truncateJson`, `trickleMs`, `reset: 'mid-body'`.
 */
export interface Fault {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | object;
  /** Answer with a gateway-style HTML page. */
  readonly htmlBody?: boolean;
  /** Wait this long (real milliseconds) before answering. */
  readonly delayMs?: number;
  /**
   * Destroy the socket: before any header without running the handler
   * (`before-headers`), after running the real handler but before any header
   * (`after-handler`), or after part of the body (`mid-body`).
   */
  readonly reset?: FaultReset;
  /** Accept the request and never answer. */
  readonly hang?: boolean;
  /** Send the body a few bytes per tick of this many milliseconds. */
  readonly trickleMs?: number;
  /** Answer a body of this many bytes. */
  readonly oversizeBytes?: number;
  /** Cut the JSON body in half. */
  readonly truncateJson?: boolean;
  /** How many requests this fault applies to (default 1). */
  readonly times?: number;
}

/** The ways {@link Fault.reset} drops a connection. */
export type FaultReset = 'before-headers' | 'after-handler' | 'mid-body';

const RESETS: readonly FaultReset[] = ['before-headers', 'after-handler', 'mid-body'];

/** Where a fault queue applies: one route or every emulated route (`'*'`). */
export type FaultTarget = RouteName | '*';

const FAULT_FIELDS: ReadonlySet<string> = new Set([
  'status', 'headers', 'body', 'htmlBody', 'delayMs', 'reset', 'hang', 'trickleMs', 'oversizeBytes', 'truncateJson', 'times',
]);

/** Largest body `oversizeBytes` may ask for (64 MiB). */
export const MAX_OVERSIZE_BYTES = 64 * 1024 * 1024;

function fail(path: string, value: unknown, fix: string): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new Error(`${path}: invalid value ${shown}: ${fix}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegativeInt(v: unknown, path: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(path, v, `use an integer from 0 to ${max}`);
  return v;
}

/** Checks a route name (or `'*'`); throws naming `path` otherwise. */
export function parseFaultTarget(json: unknown, path: string): FaultTarget {
  if (json === '*' || (typeof json === 'string' && (ROUTE_NAMES as readonly string[]).includes(json))) return json as FaultTarget;
  return fail(path, json, `use "*" or one of ${ROUTE_NAMES.join(', ')}`);
}

/** Validates one fault; throws an Error naming the JSON path, the value and the fix. */
export function parseFault(json: unknown, path: string): Fault {
  if (!isPlainObject(json)) fail(path, json, 'a fault is a JSON object such as {"status": 503, "headers": {"Retry-After": "2"}}');
  for (const k of Object.keys(json)) {
    if (!FAULT_FIELDS.has(k)) fail(`${path}.${k}`, json[k], `unknown fault field; use one of ${[...FAULT_FIELDS].join(', ')}`);
  }
  const f: { -readonly [K in keyof Fault]: Fault[K] } = {};
  if (json.status !== undefined) {
    const s = json.status;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 200 || s > 599) fail(`${path}.status`, s, 'use an HTTP status from 200 to 599');
    f.status = s;
  }
  if (json.headers !== undefined) {
    const h = json.headers;
    if (!isPlainObject(h)) fail(`${path}.headers`, h, 'use an object of header name to string value');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(h)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) fail(`${path}.headers`, name, 'header names are HTTP tokens such as Retry-After');
      if (typeof value !== 'string' || !/^[\t\x20-\x7e]*$/.test(value)) {
        fail(`${path}.headers.${name}`, value, 'header values are printable ASCII strings, e.g. "2"');
      }
      headers[name] = value;
    }
    f.headers = headers;
  }
  if (json.body !== undefined) {
    if (typeof json.body !== 'string' && !isPlainObject(json.body) && !Array.isArray(json.body)) {
      fail(`${path}.body`, json.body, 'use a string or a JSON object');
    }
    f.body = json.body as string | object;
  }
  for (const flag of ['htmlBody', 'hang', 'truncateJson'] as const) {
    if (json[flag] !== undefined) {
      if (typeof json[flag] !== 'boolean') fail(`${path}.${flag}`, json[flag], 'use true or false');
      f[flag] = json[flag] as boolean;
    }
  }
  if (json.reset !== undefined) {
    if (!(RESETS as readonly unknown[]).includes(json.reset)) fail(`${path}.reset`, json.reset, `use ${RESETS.map((r) => `"${r}"`).join(', ')}`);
    f.reset = json.reset as FaultReset;
  }
  if (json.delayMs !== undefined) f.delayMs = nonNegativeInt(json.delayMs, `${path}.delayMs`, 600_000);
  if (json.trickleMs !== undefined) f.trickleMs = nonNegativeInt(json.trickleMs, `${path}.trickleMs`, 60_000);
  if (json.oversizeBytes !== undefined) f.oversizeBytes = nonNegativeInt(json.oversizeBytes, `${path}.oversizeBytes`, MAX_OVERSIZE_BYTES);
  if (f.reset === 'after-handler') {
    // the point of it is that the real handler runs and nothing of its answer is sent
    for (const other of ['status', 'body', 'htmlBody', 'oversizeBytes', 'hang', 'truncateJson', 'trickleMs', 'headers'] as const) {
      if (json[other] !== undefined) fail(`${path}.${other}`, json[other], `"reset": "after-handler" runs the real handler and sends nothing; drop "${other}" (only delayMs and times combine with it)`);
    }
  }
  if (json.times !== undefined) {
    const t = json.times;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 1_000_000) fail(`${path}.times`, t, 'use an integer of at least 1');
    f.times = t;
  }
  return f;
}

/** Validates an array of faults. */
export function parseFaults(json: unknown, path: string): Fault[] {
  if (!Array.isArray(json)) fail(path, json, 'use an array of fault objects, e.g. [{"status": 503}]');
  return json.map((f, i) => parseFault(f, `${path}[${i}]`));
}

/** True when the response is synthetic and the real handler must not run. */
export function isSyntheticFault(f: Fault): boolean {
  return f.status !== undefined || f.body !== undefined || f.htmlBody === true || f.oversizeBytes !== undefined;
}

/** Short description of a fault for the request log, e.g. `status=503,delayMs=20`. */
export function describeFault(f: Fault): string {
  const parts: string[] = [];
  if (f.hang) parts.push('hang');
  if (f.reset) parts.push(`reset=${f.reset}`);
  if (f.status !== undefined) parts.push(`status=${f.status}`);
  if (f.htmlBody) parts.push('html');
  if (f.body !== undefined) parts.push('body');
  if (f.oversizeBytes !== undefined) parts.push(`oversize=${f.oversizeBytes}`);
  if (f.truncateJson) parts.push('truncateJson');
  if (f.trickleMs !== undefined) parts.push(`trickleMs=${f.trickleMs}`);
  if (f.delayMs !== undefined) parts.push(`delayMs=${f.delayMs}`);
  if (f.headers) parts.push(`headers=${Object.keys(f.headers).join('+')}`);
  return parts.join(',') || 'noop';
}

interface Pending {
  readonly fault: Fault;
  remaining: number;
}

/**
 * Per-route FIFO queues of faults. Each fault is used `times` times (default once), then
 * the next one, then normal behaviour. A route's own queue goes before the `'*'` queue.
 */
export class FaultQueues {
  private readonly queues = new Map<FaultTarget, Pending[]>();

  /** Appends faults (validated) to the queue of `target`. */
  add(target: FaultTarget, faults: readonly Fault[]): void {
    const t = parseFaultTarget(target, 'route');
    const parsed = parseFaults(faults, 'faults');
    const q = this.queues.get(t) ?? [];
    for (const fault of parsed) q.push({ fault, remaining: fault.times ?? 1 });
    this.queues.set(t, q);
  }

  /** Takes the next fault for `route`, if any. */
  take(route: RouteName): Fault | undefined {
    for (const target of [route, '*'] as const) {
      const q = this.queues.get(target);
      const head = q?.[0];
      if (q && head) {
        head.remaining -= 1;
        if (head.remaining <= 0) q.shift();
        return head.fault;
      }
    }
    return undefined;
  }

  /** Drops every queued fault. */
  clear(): void {
    this.queues.clear();
  }

  /** Queued faults per target, for the admin API. */
  snapshot(): Record<string, { fault: Fault; remaining: number }[]> {
    const out: Record<string, { fault: Fault; remaining: number }[]> = {};
    for (const [t, q] of this.queues) if (q.length > 0) out[t] = q.map((p) => ({ fault: p.fault, remaining: p.remaining }));
    return out;
  }
}
