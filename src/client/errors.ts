/**
 * Stable error codes, and the defensive parsing of error bodies (KMS, IAM, HTML from a
 * gateway, empty, truncated). What a parsed body says is raw server text: the engine puts
 * it through the sanitizer (sanitize.ts) before anything else sees it. Pure: no I/O.
 */

/** Stable error codes; scripts and tests branch on these, never on message text. */
export type KeySyncErrorCode =
  /** The sync (or rotation) time gate is closed past --max-wait (exit 75). */
  | 'KS_GATED'
  /** A 4xx without a more specific code: 400, 410, 422, ... (exit 1). */
  | 'KS_HTTP_4XX'
  /** 401 from the key API after one token refresh (exit 1). */
  | 'KS_AUTH'
  /** 403 from the key API (exit 1). */
  | 'KS_FORBIDDEN'
  /** 404: no such key (or alias) in this instance / key ring (exit 1). */
  | 'KS_NOT_FOUND'
  /** 409 other than REQ_TOO_EARLY_ERR, e.g. a key in the wrong state (exit 1). */
  | 'KS_CONFLICT'
  /** 501 (exit 1). */
  | 'KS_NOT_IMPLEMENTED'
  /** A status outside the API contract, e.g. 3xx (exit 1). */
  | 'KS_HTTP_UNEXPECTED'
  /** IAM refused the API key or the request (400/401/403) (exit 1). */
  | 'KS_IAM_REFUSED'
  /** IAM answered 2xx without a usable token (exit 1). */
  | 'KS_IAM_BAD_RESPONSE'
  /** 429/5xx outlasted the retry budget (exit 75). */
  | 'KS_HTTP_5XX'
  | 'KS_THROTTLED'
  /** No HTTP response (refused, reset, DNS, a dropped handshake) outlasted the retry budget (exit 75); a refused certificate is KS_TLS. */
  | 'KS_NETWORK'
  /** Attempts timed out until the retry budget ran out (exit 75). */
  | 'KS_TIMEOUT'
  /** A registrations listing ran past its time bound (exit 75). (A retry past the 2-minute budget is named by its last failure: KS_HTTP_5XX, KS_THROTTLED, KS_NETWORK, KS_TIMEOUT.) */
  | 'KS_DEADLINE'
  /** Interrupted by SIGINT/SIGTERM before the sync was accepted (exit 75). */
  | 'KS_ABORTED'
  /** A 2xx listing with a body we cannot read, a listing that repeats itself, or response headers past Node's limit (exit 1). */
  | 'KS_BAD_RESPONSE'
  /** A registrations listing ended with fewer items than the service counted (exit 75). */
  | 'KS_LISTING_INCOMPLETE'
  /** A registrations listing past the item, byte or page bound (exit 1). */
  | 'KS_LISTING_TOO_LARGE'
  /** The endpoint's TLS certificate was not accepted, or it did not speak TLS (exit 1). */
  | 'KS_TLS'
  /** `key-sync rotate`: the key is a standard key, in a state the service does not rotate, or imported (exit 1). */
  | 'KS_NOT_ROTATABLE'
  /** A bug in key-sync (exit 1). */
  | 'KS_INTERNAL'
  /** Usage or configuration error, found before any request (exit 2). */
  | 'KS_USAGE';

/** Codes that mean "not done yet, retry later" (exit 75); all others are permanent. */
export const RETRY_LATER_CODES: ReadonlySet<KeySyncErrorCode> = new Set<KeySyncErrorCode>([
  'KS_GATED', 'KS_HTTP_5XX', 'KS_THROTTLED', 'KS_NETWORK', 'KS_TIMEOUT', 'KS_DEADLINE', 'KS_ABORTED', 'KS_LISTING_INCOMPLETE',
]);

export interface KeySyncErrorDetails {
  readonly status?: number;
  readonly reasonCode?: string;
  readonly correlationId?: string;
}

/** An error with a stable code. Its message is always redacted by whoever builds it. */
export class KeySyncError extends Error {
  readonly code: KeySyncErrorCode;
  readonly status?: number;
  readonly reasonCode?: string;
  readonly correlationId?: string;

  constructor(code: KeySyncErrorCode, message: string, details: KeySyncErrorDetails = {}) {
    super(message);
    this.name = 'KeySyncError';
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.reasonCode !== undefined) this.reasonCode = details.reasonCode;
    if (details.correlationId !== undefined) this.correlationId = details.correlationId;
  }

  /** Whether this means "retry later" (exit 75) rather than a permanent failure. */
  get retryLater(): boolean {
    return RETRY_LATER_CODES.has(this.code);
  }
}

// ---------------------------------------------------------------------------------------
// Error bodies


export interface ErrorReason {
  readonly code?: string;
  readonly message?: string;
  readonly status?: number;
  readonly moreInfo?: string;
}

/** What we could learn from an error body, whatever its shape. */
export interface ParsedErrorBody {
  /** Shape found: KMS error JSON, IAM error JSON, other JSON, HTML, plain text, empty. */
  readonly shape: 'kms' | 'iam' | 'json' | 'html' | 'text' | 'empty';
  /** Best human message (first reason's message, else errorMsg / errorMessage / title). */
  readonly message?: string;
  /** First reason code (KMS) or errorCode (IAM). */
  readonly reasonCode?: string;
  readonly reasons: readonly ErrorReason[];
  /** IAM `context.requestId`. */
  readonly requestId?: string;
  /** The body was cut at the size cap or is syntactically incomplete JSON. */
  readonly truncated: boolean;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x.trim() !== '' ? x : undefined;
}

/** `x` as a plain JSON object, or undefined. */
export function obj(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

/**
 * Parses an error body defensively. Never throws. `truncatedByCap`: the reader stopped
 * at {@link BODY_CAP_BYTES}.
 */
export function parseErrorBody(text: string, contentType?: string, truncatedByCap = false): ParsedErrorBody {
  const t = text.trim();
  if (t === '') return { shape: 'empty', reasons: [], truncated: truncatedByCap };
  const looksJson = t.startsWith('{') || t.startsWith('[') || /\bjson\b/i.test(contentType ?? '');
  if (looksJson) {
    let data: unknown;
    try {
      data = JSON.parse(t);
    } catch {
      // Truncated or malformed JSON: salvage a reason code and message with a regex.
      const code = /"code"\s*:\s*"([A-Z0-9_]{2,64})"/.exec(t)?.[1] ?? /"errorCode"\s*:\s*"([A-Za-z0-9_-]{2,64})"/.exec(t)?.[1];
      const message = /"(?:message|errorMsg|errorMessage)"\s*:\s*"((?:[^"\\]|\\.){1,1000})"/.exec(t)?.[1];
      return {
        shape: 'json',
        reasons: code === undefined ? [] : [{ code }],
        truncated: true,
        ...(code === undefined ? {} : { reasonCode: code }),
        ...(message === undefined ? {} : { message: unescapeJsonString(message) }),
      };
    }
    return fromJson(data, truncatedByCap);
  }
  if (/^<(?:!doctype|html|\?xml|head|body)/i.test(t) || /\bhtml\b/i.test(contentType ?? '')) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(t)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(t)?.[1];
    const message = title === undefined ? undefined : str(collapse(title.replace(/<[^>]*>/g, ' ')));
    return { shape: 'html', reasons: [], truncated: truncatedByCap, ...(message === undefined ? {} : { message }) };
  }
  return { shape: 'text', reasons: [], truncated: truncatedByCap, message: collapse(t) };
}

function unescapeJsonString(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s;
  }
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function fromJson(data: unknown, truncated: boolean): ParsedErrorBody {
  const root = obj(data);
  if (root === undefined) return { shape: 'json', reasons: [], truncated };
  // KMS: { metadata, resources: [ { errorMsg, reasons: [ { code, message, status, moreInfo } ] } ] }
  const resources = root['resources'];
  if (Array.isArray(resources)) {
    const first = obj(resources[0]);
    const rawReasons = first !== undefined && Array.isArray(first['reasons']) ? (first['reasons'] as unknown[]) : [];
    const reasons: ErrorReason[] = [];
    for (const r of rawReasons.slice(0, 20)) {
      const o = obj(r);
      if (o === undefined) continue;
      const code = str(o['code']);
      const message = str(o['message']);
      const moreInfo = str(o['moreInfo']);
      const status = typeof o['status'] === 'number' ? o['status'] : undefined;
      reasons.push({
        ...(code === undefined ? {} : { code }),
        ...(message === undefined ? {} : { message }),
        ...(status === undefined ? {} : { status }),
        ...(moreInfo === undefined ? {} : { moreInfo }),
      });
    }
    const errorMsg = first === undefined ? undefined : str(first['errorMsg']);
    const reasonCode = reasons.find((r) => r.code !== undefined)?.code;
    const reasonMsg = reasons.find((r) => r.message !== undefined)?.message;
    const message = joinMessages(errorMsg, reasonMsg);
    return {
      shape: 'kms',
      reasons,
      truncated,
      ...(reasonCode === undefined ? {} : { reasonCode }),
      ...(message === undefined ? {} : { message }),
    };
  }
  // IAM: { errorCode, errorMessage, errorDetails?, context: { requestId } }
  if ('errorCode' in root || 'errorMessage' in root) {
    const reasonCode = str(root['errorCode']);
    const message = joinMessages(str(root['errorMessage']), str(root['errorDetails']));
    const requestId = str(obj(root['context'])?.['requestId']);
    return {
      shape: 'iam',
      reasons: reasonCode === undefined ? [] : [{ code: reasonCode }],
      truncated,
      ...(reasonCode === undefined ? {} : { reasonCode }),
      ...(message === undefined ? {} : { message }),
      ...(requestId === undefined ? {} : { requestId }),
    };
  }
  const message = str(root['message']) ?? str(root['error_description']) ?? str(root['error']) ?? str(root['title']);
  return { shape: 'json', reasons: [], truncated, ...(message === undefined ? {} : { message }) };
}

function joinMessages(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined || a.includes(b)) return a;
  if (b.includes(a)) return b;
  return `${a}: ${b}`;
}
