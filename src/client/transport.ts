/**
 * One HTTP attempt: the only HTTP I/O of the client. The attempt's time limit covers the
 * whole exchange (TCP connect, TLS handshake, headers, body), and an abort ends it at
 * once in every phase. Bodies are read up to a cap. Nothing here decides whether to
 * retry: the attempt comes back as a typed {@link AttemptResult}.
 *
 * undici honours a request's abort signal only once its connection exists: a stalled TLS
 * handshake or a black-holed connect held an attempt for the connector's own 30 s
 * whatever the caller said. So the dispatcher this module builds uses a connector that
 * remembers every socket still connecting, and an attempt that times out or is aborted
 * destroys the connecting sockets of its origin: undici then fails the request with that
 * error, promptly, and its pool stays consistent for the next attempt.
 */
import type { Dispatcher } from 'undici';

/** Thrown when the caller's signal aborts an attempt or a wait. */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** Lower-case header names, as undici gives them. */
export type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface HttpRequest {
  readonly origin: string;
  /** Path and query, already encoded. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Whether a 2xx body is needed (a listing, a key, a token). When not (a sync or a
   * rotation: the status is the answer), a 2xx is returned at the status line and its
   * body, which may be large or trickle in, is dropped with the connection.
   */
  readonly readSuccessBody: boolean;
}

export type AttemptResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: Headers;
      readonly text: string;
      /** Bytes of body received (before decoding). */
      readonly bytes: number;
      /** The body was cut at the cap. */
      readonly truncated: boolean;
      /** The body stopped arriving (reset, or past the time limit when `timedOut`). */
      readonly readFailed: boolean;
      readonly timedOut: boolean;
    }
  /** No response: `code` is the system or undici code (ECONNREFUSED, CERT_HAS_EXPIRED...). */
  | { readonly kind: 'network'; readonly code?: string }
  /** Past the time limit, while connecting (nothing sent) or after the request went out. */
  | { readonly kind: 'timeout'; readonly phase: 'connect' | 'response' };

/** Cap of a 2xx body (a 5000-item registrations page is a few MiB). */
export const SUCCESS_BODY_CAP_BYTES = 32 * 1024 * 1024;
/** Cap of an error body: enough for any real error document. */
export const ERROR_BODY_CAP_BYTES = 64 * 1024;

/**
 * How long an attempt that is stopped (time limit, signal) waits for what is already on
 * its way: an answer arriving, or the request ending once aborted or cut.
 */
const ABORT_GRACE_MS = 200;
/** A socket opened this soon after an attempt started can be the attempt's own. */
const CUT_SLACK_MS = 50;

/** The code given to connecting sockets this module cuts (a time limit or an abort). */
const CUT_CODE = 'KS_CONNECT_CUT';

/** The pieces of undici the transport uses (the bundle carries only these). */
interface UndiciParts {
  readonly Agent: typeof import('undici').Agent;
  readonly buildConnector: typeof import('undici').buildConnector;
}

/**
 * undici, loaded when a transport first needs its own dispatcher. This module is
 * reachable from the package root, which every `cdktf synth` imports for the constructs,
 * and a synth never sends a request.
 */
/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const loadUndici = (): UndiciParts => require('undici') as UndiciParts;

type ConnectorReturningSocket = (options: import('undici').buildConnector.Options, callback: import('undici').buildConnector.Callback) => import('node:net').Socket;

/** Sockets still connecting, by origin (`https://host:port`). */
class ConnectingSockets {
  private readonly byOrigin = new Map<string, Map<import('node:net').Socket, number>>();

  track(origin: string, socket: import('node:net').Socket, secure: boolean): void {
    let map = this.byOrigin.get(origin);
    if (map === undefined) {
      map = new Map();
      this.byOrigin.set(origin, map);
    }
    const m = map;
    m.set(socket, Date.now());
    const done = (): void => {
      m.delete(socket);
      if (m.size === 0 && this.byOrigin.get(origin) === m) this.byOrigin.delete(origin);
    };
    socket.once(secure ? 'secureConnect' : 'connect', done).once('close', done);
  }

  /**
   * Destroys the sockets of `origin` still connecting that were opened no later than
   * `openedBy` (epoch ms): the ones an attempt started before then can be waiting on. A
   * socket another, later attempt opened keeps its own time limit.
   */
  cut(origin: string, openedBy = Infinity): void {
    const map = this.byOrigin.get(origin);
    if (map === undefined) return;
    for (const [s, openedAt] of [...map]) {
      if (openedAt <= openedBy) s.destroy(Object.assign(new Error('connection attempt cut short'), { code: CUT_CODE }));
    }
  }
}

function originOf(o: { protocol?: string; hostname?: string; host?: string; port?: string | number }): string {
  const protocol = o.protocol ?? 'https:';
  const port = o.port === undefined || o.port === '' || o.port === null ? (protocol === 'https:' ? 443 : 80) : Number(o.port);
  const host = String(o.hostname ?? o.host ?? '').replace(/^\[|\]$/g, '');
  return `${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function normalOrigin(origin: string): string {
  const u = new URL(origin);
  return originOf({ protocol: u.protocol, hostname: u.hostname, port: u.port });
}

export interface TransportOptions {
  /** Default: a keep-alive undici Agent owned (and closed) by this transport. */
  readonly dispatcher?: Dispatcher;
  /** Backstop for the connect phase of the owned Agent (each attempt is cut sooner by its own limit). */
  readonly connectTimeoutMs: number;
}

/** A connection opened ahead of its first request (see {@link Transport.preconnect}). */
interface Parked {
  readonly socket: import('node:net').Socket;
  state: 'connecting' | 'ready' | 'failed';
  /** undici's callbacks waiting for the connection to finish. */
  readonly waiters: Array<import('undici').buildConnector.Callback>;
}

/** An unused opened connection is closed after this long. */
const PARKED_MAX_MS = 30_000;

export class Transport {
  private dispatcherValue: Dispatcher | undefined;
  private readonly owns: boolean;
  private readonly connecting = new ConnectingSockets();
  private connector: ConnectorReturningSocket | undefined;
  private readonly parked = new Map<string, Parked>();

  constructor(private readonly opts: TransportOptions) {
    this.dispatcherValue = opts.dispatcher;
    this.owns = opts.dispatcher === undefined;
  }

  private get dispatcher(): Dispatcher {
    if (this.dispatcherValue !== undefined) return this.dispatcherValue;
    const { Agent, buildConnector } = loadUndici();
    // Certificate verification is always on, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
    // (undici's connector returns the socket it creates; its type says void.)
    const inner = buildConnector({ timeout: this.opts.connectTimeoutMs, rejectUnauthorized: true }) as unknown as ConnectorReturningSocket;
    const open: ConnectorReturningSocket = (options, callback) => {
      const socket = inner(options, callback);
      this.connecting.track(originOf(options), socket, options.protocol === 'https:');
      return socket;
    };
    this.connector = open;
    const connect: ConnectorReturningSocket = (options, callback) => {
      const origin = originOf(options);
      const p = this.parked.get(origin);
      if (p === undefined || p.state === 'failed' || p.socket.destroyed) {
        this.parked.delete(origin);
        return open(options, callback);
      }
      // Hand over the connection opened ahead (ready now, or when it is).
      this.parked.delete(origin);
      p.socket.ref();
      if (p.state === 'ready') queueMicrotask(() => callback(null, p.socket));
      else p.waiters.push(callback);
      return p.socket;
    };
    this.dispatcherValue = new Agent({ keepAliveTimeout: 10_000, connect });
    return this.dispatcherValue;
  }

  /**
   * Starts connecting (TCP and TLS) to `origin` now, for a request that will follow: the
   * key service's connection is set up while the IAM token is being exchanged, instead of
   * after it. Nothing is sent; a connection not used within 30 s is closed. No-op with an
   * injected dispatcher or when a connection is already being opened.
   */
  preconnect(origin: string): void {
    if (!this.owns) return;
    const key = normalOrigin(origin);
    if (this.parked.has(key)) return;
    void this.dispatcher;
    const open = this.connector;
    if (open === undefined) return;
    const u = new URL(origin);
    const waiters: Parked['waiters'] = [];
    // The connector calls back on the connect event, never before it returns.
    const socket = open({ protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), host: u.host, port: u.port }, (err, s) => {
      parked.state = err === null ? 'ready' : 'failed';
      for (const w of waiters.splice(0)) {
        if (err !== null) w(err, null);
        else w(null, s as import('node:net').Socket);
      }
    });
    const parked: Parked = { socket, state: 'connecting', waiters };
    // An opened connection never keeps the process alive by itself.
    socket.unref();
    socket.on('error', () => undefined);
    this.parked.set(key, parked);
    setTimeout(() => {
      if (this.parked.get(key) === parked) {
        this.parked.delete(key);
        socket.destroy();
      }
    }, PARKED_MAX_MS).unref();
  }

  /** Closes the dispatcher if this transport created it (lets the process exit). */
  async close(): Promise<void> {
    for (const p of this.parked.values()) p.socket.destroy();
    this.parked.clear();
    if (this.owns && this.dispatcherValue !== undefined) await this.dispatcherValue.destroy().catch(() => undefined);
  }

  /**
   * Sends one request. Resolves with what happened within `timeoutMs`; rejects with
   * {@link AbortedError} when `signal` aborts (in any phase, within milliseconds).
   */
  async attempt(req: HttpRequest, timeoutMs: number, signal: AbortSignal | undefined): Promise<AttemptResult> {
    if (signal?.aborted === true) throw new AbortedError();
    const origin = normalOrigin(req.origin);
    const startedAt = Date.now();
    const ac = new AbortController();
    let timedOut = false;
    let stop!: (why: 'timeout' | 'abort') => void;
    const stopped = new Promise<'timeout' | 'abort'>((resolve) => {
      stop = resolve;
    });
    const onAbort = (): void => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      stop('timeout');
    }, timeoutMs);
    const exchange = this.exchange(req, ac.signal, timeoutMs, () => timedOut);
    const within = (ms: number): Promise<AttemptResult | undefined> => Promise.race([exchange, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
    try {
      const first = await Promise.race([exchange, stopped]);
      if (first === 'abort') {
        // An answer on its way when the signal came still counts: a sync accepted at that
        // moment is accepted (exit 0), not "interrupted". Then stop, in every phase (the
        // request's abort does not reach a socket being set up: cut those too).
        const late = await within(ABORT_GRACE_MS);
        if (late !== undefined && late.kind === 'response' && late.status >= 200 && late.status <= 299) return late;
        ac.abort();
        this.connecting.cut(origin);
        throw new AbortedError();
      }
      if (first === 'timeout') {
        ac.abort();
        // A socket this attempt may be waiting on: cut it, and see what the request says.
        this.connecting.cut(origin, startedAt + CUT_SLACK_MS);
        // The status line came but the body did not in time: the abort has stopped the
        // read, so the exchange ends at once as a response whose body failed (a 503 that
        // trickles is still a 503). Still connecting: it ends as a connect-phase timeout.
        // Neither within the grace (queued, or a reader that ignores the abort): the
        // request may be out.
        const late = await within(ABORT_GRACE_MS);
        if (late !== undefined && (late.kind === 'response' || (late.kind === 'timeout' && late.phase === 'connect'))) return late;
        exchange.catch(() => undefined);
        return { kind: 'timeout', phase: 'response' };
      }
      return first;
    } catch (e) {
      if (e instanceof AbortedError || isAborted(signal)) throw new AbortedError();
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The request itself; never rejects. */
  private async exchange(req: HttpRequest, signal: AbortSignal, timeoutMs: number, timedOut: () => boolean): Promise<AttemptResult> {
    try {
      const res = await this.dispatcher.request({
        origin: req.origin,
        path: req.path,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const headers = res.headers as Headers;
      const ok = res.statusCode >= 200 && res.statusCode <= 299;
      if (ok && !req.readSuccessBody) {
        res.body.on('error', () => undefined).destroy();
        return { kind: 'response', status: res.statusCode, headers, text: '', bytes: 0, truncated: false, readFailed: false, timedOut: false };
      }
      const body = await readCapped(res.body, ok ? SUCCESS_BODY_CAP_BYTES : ERROR_BODY_CAP_BYTES);
      return { kind: 'response', status: res.statusCode, headers, ...body, timedOut: body.readFailed && timedOut() };
    } catch (e) {
      const code = errorCode(e);
      if (code === CUT_CODE) return { kind: 'timeout', phase: 'connect' };
      if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout', phase: 'connect' };
      if (timedOut() || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'timeout', phase: 'response' };
      return code === undefined ? { kind: 'network' } : { kind: 'network', code };
    }
  }
}

/** Reads `aborted` through a call so TypeScript does not narrow it across awaits. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The most telling code of an error: a system code (E...) anywhere in the cause chain, else the first. */
export function errorCode(e: unknown): string | undefined {
  let first: string | undefined;
  let cur: unknown = e;
  for (let i = 0; i < 5 && typeof cur === 'object' && cur !== null; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== '') {
      if (/^E[A-Z_]+$/.test(c)) return c;
      first ??= c;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return first;
}

async function readCapped(body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }, cap: number): Promise<{ text: string; bytes: number; truncated: boolean; readFailed: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  let truncated = false;
  let readFailed = false;
  try {
    for await (const chunk of body) {
      const c = Buffer.from(chunk);
      if (n + c.length > cap) {
        chunks.push(c.subarray(0, cap - n));
        n = cap;
        truncated = true;
        break;
      }
      chunks.push(c);
      n += c.length;
    }
  } catch {
    readFailed = true;
  }
  if (truncated || readFailed) body.destroy?.();
  return { text: Buffer.concat(chunks).toString('utf8'), bytes: n, truncated, readFailed };
}
