import type { RouteName } from './routes';

/**
 * The emulator's request log. Entries hold what a test needs to assert about a call and
 * never the Authorization value, an API key or token text (paths are redacted too).
 */
export interface RequestLogEntry {
  /** When the request arrived, ISO 8601 on the emulator clock. */
  readonly time: string;
  readonly method: string;
  /** Path including the query, with secret-looking query values and tokens redacted. */
  readonly path: string;
  readonly route: RouteName | 'admin' | 'unknown';
  /** Status sent; 0 when nothing was sent (hang, reset, client gone). */
  readonly status: number;
  readonly correlationId?: string;
  /** `Bluemix-Instance` header. */
  readonly instance?: string;
  /** `X-Kms-Key-Ring` header. */
  readonly keyRing?: string;
  /** Request `Content-Type`. */
  readonly contentType?: string;
  /** Request body bytes received. */
  readonly bodyBytes: number;
  /** The injected fault, described, if one was used. */
  readonly fault?: string;
  /**
   * Status the real handler produced but never sent, because a fault (`reset:
   * 'after-handler'`) dropped the connection: e.g. 204 for a rotation the client never saw.
   */
  readonly handledStatus?: number;
  /** Real milliseconds from arrival to the end of the exchange. */
  readonly durationMs: number;
}

const SECRET_PARAM = /(api[-_]?key|token|secret|password|passwd|auth|credential)/i;
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g;

/** Clamps a header value for the log: bounded length, printable, tokens and secrets removed. */
export function cleanLogValue(value: string | undefined, secrets: readonly string[] = []): string | undefined {
  if (value === undefined) return undefined;
  let v = value.slice(0, 200).replace(/[^\x20-\x7e]/g, '?').replace(JWT_LIKE, '<redacted>');
  for (const s of secrets) if (s.length >= 4 && v.includes(s)) v = v.split(s).join('<redacted>');
  return v;
}

/**
 * Redacts a request path for the log: values of query parameters whose names look secret
 * (apikey, token, ...), anything shaped like a JWT, and any of the given secrets.
 */
export function redactPath(rawUrl: string, secrets: readonly string[] = []): string {
  let url = rawUrl.length > 2048 ? `${rawUrl.slice(0, 2048)}...` : rawUrl;
  const q = url.indexOf('?');
  if (q >= 0) {
    const params = url
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = eq >= 0 ? pair.slice(0, eq) : pair;
        let decoded = name;
        try {
          decoded = decodeURIComponent(name);
        } catch {
          // keep the raw name
        }
        return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=<redacted>` : pair;
      });
    url = `${url.slice(0, q)}?${params.join('&')}`;
  }
  return cleanLogValue(url, secrets.flatMap((s) => [s, encodeURIComponent(s)])) ?? '';
}

/** A bounded in-memory log (oldest entries dropped past `capacity`). */
export class RequestLog {
  private entries: RequestLogEntry[] = [];

  constructor(private readonly capacity = 10_000) {}

  /** Appends an entry. */
  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity * 1.25) this.entries = this.entries.slice(-this.capacity);
  }

  /** A copy of the entries, oldest first (at most `capacity`). */
  list(): readonly RequestLogEntry[] {
    return this.entries.slice(-this.capacity);
  }

  /** Empties the log. */
  clear(): void {
    this.entries = [];
  }
}
