import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleAdmin } from './admin';
import { clockRangeProblem, EmulatorClock } from './clock';
import { describeFault, FaultQueues, isSyntheticFault, type Fault, type FaultTarget } from './faults';
import { TokenIssuer } from './iam';
import { handleKms } from './kms-api';
import { genericIamError, genericKmsError, htmlPage, jsonReply, kmsError, type Reply } from './reply';
import { cleanLogValue, redactPath, RequestLog, type RequestLogEntry } from './request-log';
import { matchRoute, type KeyAction, type RouteName } from './routes';
import { DEFAULT_SEED, parseSeed, type Seed } from './seed';
import { applySettings, defaultSettings, parseSettings } from './settings';
import { EmulatorState } from './state';

export type { Fault, FaultTarget } from './faults';
export type { RequestLogEntry } from './request-log';
export type { RouteName } from './routes';
export type { Seed } from './seed';
export { EmulatorClock } from './clock';
export { EmulatorState } from './state';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Port to listen on; default 0 (ephemeral). */
  readonly port?: number;
  /** Interface; default `127.0.0.1`. Non-loopback hosts are refused unless `allowRemote`. */
  readonly host?: string;
  /** Allow binding a non-loopback interface (the emulator has no real security). */
  readonly allowRemote?: boolean;
  /** Seed data; default {@link DEFAULT_SEED}. Validated like a seed file. */
  readonly seed?: Seed;
  /** Sync gate (and rotation gate) period in seconds; default 3600. */
  readonly gateSeconds?: number;
  /** IAM access-token lifetime in seconds; default 3600. */
  readonly tokenTtlSeconds?: number;
  /** Start the clock frozen at this time; default real time. */
  readonly now?: number | Date;
  /**
   * Bearer tokens the key API accepts as they are (no IAM exchange, never expire): for
   * tests of the `IBMCLOUD_IAM_TOKEN` path. Redacted from the request log like API keys.
   */
  readonly staticTokens?: readonly string[];
  /**
   * Seconds after a rotation (or an accepted sync) at which registrations that follow it
   * carry the key's new version; overrides the seed's `settings`.
   * @default 0 (at once)
   */
  readonly registrationAckSeconds?: number;
  /**
   * Most items any listing page holds, whatever `limit` asks (as a gateway may cut pages);
   * overrides the seed's `settings`.
   * @default no cap
   */
  readonly maxPageSize?: number;
  /**
   * Seconds between a rotation's `lastRotateDate` and its new version's `creationDate`
   * (-60 to 60; the real service's two dates can differ); overrides the seed's `settings`.
   * @default 0
   */
  readonly versionDateSkewSeconds?: number;
}

/** A running emulator. */
export interface RunningEmulator {
  /** Base URL for both IAM (`/identity/token`) and the key API (`/api/v2/...`). */
  readonly url: string;
  readonly port: number;
  /** The emulator clock: tokens, gates and log times follow it. */
  readonly clock: EmulatorClock;
  /** Request log, oldest first. */
  log(): readonly RequestLogEntry[];
  clearLog(): void;
  /** Queues faults for a route (or every route with `'*'`); each is used once or `times` times. */
  injectFaults(route: RouteName | '*', faults: readonly Fault[]): void;
  clearFaults(): void;
  /** Keys, registrations and gates, for tests to inspect. */
  readonly state: EmulatorState;
  /** Closes the server and every socket (hung ones included). */
  close(): Promise<void>;
}

/** Largest request body read (1 MiB); larger bodies get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|\[::1\])$/i;

/** True for hosts the emulator binds without `allowRemote`. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

function checkOptions(o: EmulatorOptions): void {
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port: invalid value ${String(port)}: use 0 (ephemeral) to 65535`);
  for (const [name, v] of [['gateSeconds', o.gateSeconds], ['tokenTtlSeconds', o.tokenTtlSeconds]] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0 || v > 366 * 86400)) {
      throw new RangeError(`${name}: invalid value ${String(v)}: use a number of seconds from 0 to ${366 * 86400}`);
    }
  }
  if (o.now !== undefined) {
    const ms = typeof o.now === 'number' ? o.now : o.now.getTime();
    const problem = clockRangeProblem(ms);
    if (problem !== undefined) throw new RangeError(`now: invalid value ${String(o.now)} (${problem}): use a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z`);
  }
  const given: Record<string, unknown> = {};
  for (const k of ['registrationAckSeconds', 'maxPageSize', 'versionDateSkewSeconds'] as const) if (o[k] !== undefined) given[k] = o[k];
  parseSettings(given, 'options'); // throws naming options.<field>, the value and the fix
  const host = o.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !o.allowRemote) {
    throw new Error(`host: refusing to bind '${host}': the emulator accepts any request and must stay on loopback; use 127.0.0.1 or ::1 (or set allowRemote)`);
  }
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly started: number;
  readonly time: string;
  route: RequestLogEntry['route'];
  correlationId?: string;
  bodyBytes: number;
  fault?: string;
  /** Status the real handler produced when a fault kept it from being sent. */
  handledStatus?: number;
  logged: boolean;
}

/** ISO time of `ms`, or of the real clock if `ms` cannot be printed (never throws). */
function isoOrNow(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Correlation id to answer with: the request's if it is a sane header value, else a new UUID. */
function correlationIdFor(req: IncomingMessage): string {
  const given = headerValue(req, 'correlation-id');
  return given !== undefined && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
}

/** A JSON body of exactly `bytes` bytes (for the oversize fault). */
function oversizeBody(bytes: number): Buffer {
  const head = Buffer.from('{"padding":"');
  const tail = Buffer.from('"}');
  if (bytes < head.length + tail.length) return Buffer.alloc(bytes, 0x20);
  const buf = Buffer.alloc(bytes, 0x78);
  head.copy(buf, 0);
  tail.copy(buf, bytes - tail.length);
  return buf;
}

/** Builds the synthetic reply of a fault (status / body / HTML / oversize). */
function syntheticReply(route: RouteName, f: Fault): Reply {
  const status = f.status ?? (f.oversizeBytes !== undefined ? 200 : 500);
  if (f.htmlBody) return htmlPage(status);
  if (f.oversizeBytes !== undefined) return { status, headers: { 'content-type': 'application/json' }, body: oversizeBody(f.oversizeBytes) };
  if (f.body !== undefined) {
    return typeof f.body === 'string'
      ? { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: f.body }
      : jsonReply(status, f.body, route === 'iam.token' ? 'application/json' : status >= 400 ? 'application/vnd.ibm.kms.error+json' : 'application/json');
  }
  if (status < 300) return { status, headers: {} };
  return route === 'iam.token' ? genericIamError(status) : genericKmsError(status);
}

/**
 * Starts the emulator on loopback. Resolves once it is listening.
 *
 * @example
 * const emu = await startEmulator({ now: Date.parse('2026-11-28T20:00:00Z') });
 * // IAM at `${emu.url}/identity/token`, key API at `${emu.url}/api/v2/...`
 * emu.clock.advance(3600_000);
 * await emu.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  checkOptions(options);
  const seed = parseSeed(options.seed ?? DEFAULT_SEED, 'seed');
  const clock = new EmulatorClock(options.now);
  const settings = defaultSettings();
  if (seed.settings) applySettings(settings, seed.settings);
  applySettings(settings, {
    ...(options.registrationAckSeconds !== undefined ? { registrationAckSeconds: options.registrationAckSeconds } : {}),
    ...(options.maxPageSize !== undefined ? { maxPageSize: options.maxPageSize } : {}),
    ...(options.versionDateSkewSeconds !== undefined ? { versionDateSkewSeconds: options.versionDateSkewSeconds } : {}),
  });
  const state = new EmulatorState(seed, clock.now(), options.gateSeconds ?? 3600, settings);
  const faults = new FaultQueues();
  for (const [target, list] of Object.entries(seed.faults ?? {})) faults.add(target as FaultTarget, list ?? []);
  const requestLog = new RequestLog();
  const staticTokens = [...(options.staticTokens ?? [])];
  const secrets = [...state.apiKeyList(), ...staticTokens];
  const host = options.host ?? '127.0.0.1';
  let url = '';
  const tokens = new TokenIssuer(options.tokenTtlSeconds ?? 3600, (k) => state.hasApiKey(k), 'https://iam.cloud.ibm.com/identity', new Set(staticTokens));

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  /**
   * Answers 500 for an exception in a handler (or drops the connection if the answer has
   * started), so that no request can take the server process down.
   */
  const internalError = (x: Exchange, e: unknown): void => {
    try {
      if (x.res.headersSent || x.res.destroyed) {
        x.req.socket.destroy();
        return;
      }
      x.correlationId ??= correlationIdFor(x.req);
      const message = e instanceof Error ? e.message : String(e);
      send(x, kmsError(500, 'INTERNAL_SERVER_ERR', `The emulator failed to handle the request: ${cleanLogValue(message, secrets)?.slice(0, 200) ?? ''}`));
    } catch {
      x.req.socket.destroy();
    }
  };

  /** Runs `fn` for exchange `x`; an exception becomes a 500 instead of an uncaught error. */
  const guard = (x: Exchange, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      internalError(x, e);
    }
  };

  /** Runs `fn` for `x` after `ms` real milliseconds (cancelled by close()). */
  const later = (x: Exchange, ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      guard(x, fn);
    }, ms);
    timers.add(t);
  };

  const finish = (x: Exchange): void => {
    if (x.logged) return;
    x.logged = true;
    try {
      log(x);
    } catch {
      // a log entry that cannot be built is dropped; the exchange itself is over
    }
  };

  const log = (x: Exchange): void => {
    const entry: { -readonly [K in keyof RequestLogEntry]: RequestLogEntry[K] } = {
      time: x.time,
      method: (x.req.method ?? '').slice(0, 20),
      path: redactPath(x.req.url ?? '', secrets),
      route: x.route,
      status: x.res.headersSent ? x.res.statusCode : 0,
      bodyBytes: x.bodyBytes,
      durationMs: Date.now() - x.started,
    };
    if (x.correlationId !== undefined) entry.correlationId = cleanLogValue(x.correlationId, secrets) as string;
    const instance = cleanLogValue(headerValue(x.req, 'bluemix-instance'), secrets);
    if (instance !== undefined) entry.instance = instance;
    const ring = cleanLogValue(headerValue(x.req, 'x-kms-key-ring'), secrets);
    if (ring !== undefined) entry.keyRing = ring;
    const ct = cleanLogValue(headerValue(x.req, 'content-type'), secrets);
    if (ct !== undefined) entry.contentType = ct;
    if (x.fault !== undefined) entry.fault = x.fault;
    if (x.handledStatus !== undefined) entry.handledStatus = x.handledStatus;
    requestLog.add(entry);
  };

  /** Writes a reply, applying the response-altering parts of a fault. */
  const send = (x: Exchange, reply: Reply, fault?: Fault): void => {
    const { res } = x;
    if (res.destroyed || res.headersSent) return;
    let body = reply.body === undefined ? undefined : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
    if (fault?.truncateJson && body && body.length > 1) body = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
    const headers: Record<string, string> = { ...reply.headers, ...(fault?.headers ?? {}) };
    if (x.correlationId !== undefined) headers['correlation-id'] = x.correlationId;
    if (closing) headers.connection = 'close';
    // Date from the emulator clock (node would send real time): clients may read the
    // server's time from it, e.g. to measure the sync gate against the service's clock.
    // A fault may set its own (e.g. garbage) Date.
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'date')) headers['date'] = new Date(clock.now()).toUTCString();
    res.statusCode = reply.status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    const noBody = reply.status === 204 || reply.status === 304 || x.req.method === 'HEAD';
    if (noBody || !body) {
      if (fault?.reset === 'mid-body') {
        res.flushHeaders();
        later(x, 5, () => x.req.socket.destroy());
        return;
      }
      res.end();
      return;
    }
    res.setHeader('content-length', String(body.length));
    if (fault?.reset === 'mid-body') {
      res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
      later(x, 5, () => x.req.socket.destroy());
      return;
    }
    if (fault?.trickleMs !== undefined && fault.trickleMs > 0) {
      const chunk = 8;
      let offset = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        const next = body.subarray(offset, offset + chunk);
        offset += chunk;
        if (offset >= body.length) res.end(next);
        else {
          res.write(next);
          later(x, fault.trickleMs ?? 1, tick);
        }
      };
      res.flushHeaders();
      later(x, fault.trickleMs, tick);
      return;
    }
    res.end(body);
  };

  /** Runs the real handler of an API route. */
  const handleRoute = (x: Exchange, match: { route: RouteName; keyRef?: string; action?: KeyAction }, query: URLSearchParams, body: Buffer): Reply => {
    if (match.route === 'iam.token') return tokens.handle(headerValue(x.req, 'content-type'), body, clock.now());
    const request = {
      route: match.route,
      headers: x.req.headers,
      query,
      body,
      now: clock.now(),
      ...(match.keyRef !== undefined ? { keyRef: match.keyRef } : {}),
      ...(match.action !== undefined ? { action: match.action } : {}),
    };
    return handleKms(request, state, tokens);
  };

  const dispatch = (x: Exchange, body: Buffer): void => {
    let parsed: URL;
    try {
      parsed = new URL(x.req.url ?? '/', 'http://emulator.invalid');
    } catch {
      send(x, kmsError(400, 'BAD_REQUEST_ERR', 'The request target is not a valid URL path'));
      return;
    }
    const rawPath = (x.req.url ?? '/').split('?')[0] as string;
    const match = matchRoute(x.req.method ?? 'GET', rawPath.startsWith('/') ? rawPath : parsed.pathname, parsed.searchParams);
    switch (match.kind) {
      case 'admin':
        x.route = 'admin';
        send(x, handleAdmin(x.req.method ?? 'GET', match.subpath, body, { clock, log: requestLog, faults, state }));
        return;
      case 'not-found':
        x.correlationId = correlationIdFor(x.req);
        send(x, kmsError(404, 'NOT_FOUND_ERR', `No such API path: ${x.req.method ?? ''} ${redactPath(rawPath, secrets).slice(0, 200)}`, { summary: 'The requested resource could not be found.' }));
        return;
      case 'bad-path':
        x.route = match.route;
        x.correlationId = correlationIdFor(x.req);
        send(x, kmsError(400, 'BAD_PATH_PARAM_ERR', match.message, { summary: 'The request path is not valid.', target: { type: 'path_param', name: 'id' } }));
        return;
      case 'method-not-allowed': {
        x.route = match.route;
        x.correlationId = correlationIdFor(x.req);
        const r = kmsError(405, 'METHOD_NOT_ALLOWED_ERR', `Use ${match.allow} for this path`);
        send(x, { ...r, headers: { ...r.headers, allow: match.allow } });
        return;
      }
      case 'route':
        break;
    }
    x.route = match.route;
    if (match.route === 'iam.token') {
      x.res.setHeader('transaction-id', `emulator-${randomUUID()}`);
    } else {
      x.correlationId = correlationIdFor(x.req);
    }
    const fault = faults.take(match.route);
    if (!fault) {
      send(x, handleRoute(x, match, parsed.searchParams, body));
      return;
    }
    x.fault = describeFault(fault);
    const act = (): void => {
      if (x.res.destroyed) return;
      if (fault.hang) return; // never answer; close() or the client ends it
      if (fault.reset === 'before-headers') {
        x.req.socket.destroy();
        return;
      }
      if (fault.reset === 'after-handler') {
        // the handler's effect stands (e.g. the key is rotated) but the client sees only a reset
        x.handledStatus = handleRoute(x, match, parsed.searchParams, body).status;
        x.req.socket.destroy();
        return;
      }
      const reply = isSyntheticFault(fault) ? syntheticReply(match.route, fault) : handleRoute(x, match, parsed.searchParams, body);
      send(x, reply, fault);
    };
    if (fault.delayMs !== undefined && fault.delayMs > 0) later(x, fault.delayMs, act);
    else act();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const x: Exchange = { req, res, started: Date.now(), time: isoOrNow(clock.now()), route: 'unknown', bodyBytes: 0, logged: false };
    res.on('finish', () => finish(x));
    res.on('close', () => finish(x));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let tooLarge = false;
    req.on('data', (chunk: Buffer) =>
      guard(x, () => {
        x.bodyBytes += chunk.length;
        if (x.bodyBytes > MAX_BODY_BYTES) {
          if (!tooLarge) {
            tooLarge = true;
            chunks.length = 0;
            x.correlationId = correlationIdFor(req);
            res.setHeader('connection', 'close');
            send(x, kmsError(413, 'BODY_TOO_LARGE_ERR', `The request body is larger than ${MAX_BODY_BYTES} bytes`));
            req.resume();
          }
          return;
        }
        chunks.push(chunk);
      }),
    );
    req.on('end', () => {
      if (tooLarge) return;
      guard(x, () => dispatch(x, Buffer.concat(chunks)));
    });
  };

  const server = createServer({ maxHeaderSize: 16 * 1024, keepAliveTimeout: 30_000 } as Parameters<typeof createServer>[0], onRequest);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: status === 431 ? 'Request header fields too large' : 'Malformed HTTP request' });
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      // later server errors (e.g. out of file descriptors) must not be unhandled events
      server.on('error', () => undefined);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  url = `http://${address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    clock,
    state,
    log: () => requestLog.list(),
    clearLog: () => requestLog.clear(),
    injectFaults: (route, list) => faults.add(route, list),
    clearFaults: () => faults.clear(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closed;
    },
  };
}
