/**
 * Every sentence the CLI prints about an outcome is composed here, from the typed values
 * the client returns: durations and times (one formatter each), attempts, failures and
 * their fixes. Pure.
 */
import type { Failure, LastOutcome, ListingProblem, ServerSaid } from '../../client/failure';
import type { GateInfo } from '../../client/kms-client';
import type { GateNote } from '../../client/retry-policy';
import { REFUSAL_MEMORY_MS } from '../../client/engine';
import type { StoreOff } from '../../client/token-store';

/** "12 s", "4 min 5 s", "1 h 2 min", "3 days". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h >= 48) return `${Math.round(h / 24)} days`;
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** "2026-11-28 21:38:43 UTC". */
export function utc(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}

/** ", by the key service's clock, 2 h ahead of this machine's" (empty without skew). */
export function byServiceClock(skewMs: number): string {
  if (skewMs === 0) return '';
  return `, by the key service's clock, ${skewWords(skewMs)}`;
}

/** " (by the key service's clock, which is 2 h ahead of this machine's)" (empty without skew). */
export function serviceClockNote(skewMs: number): string {
  if (skewMs === 0) return '';
  return ` (by the key service's clock, which is ${skewWords(skewMs)})`;
}

function skewWords(skewMs: number): string {
  return `${duration(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} this machine's`;
}

/** "1 attempt", "5 attempts". */
export function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/** "1 request", "3 requests": for a command whose requests are not all tries of one call (a rotation reads the key around its rotate). */
export function requests(n: number): string {
  return `${n} request${n === 1 ? '' : 's'}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
  BODY_READ_FAILED: 'the response body could not be read',
};

/** What one attempt ended with: "HTTP 503", "connection refused (ECONNREFUSED)", ... */
export function describeLast(o: LastOutcome): string {
  switch (o.kind) {
    case 'timeout':
      return o.phase === 'connect' ? 'the attempt timed out while connecting' : 'the attempt timed out';
    case 'network':
      return o.code === undefined ? 'network error' : `${NETWORK_WORDS[o.code] ?? 'network error'} (${o.code})`;
    case 'status':
      return `HTTP ${o.status}${o.retryAfter ? ' with Retry-After' : ''}`;
  }
}

/** What a call was about, for messages. */
export interface Subject {
  readonly action: 'sync' | 'list' | 'read' | 'rotate';
  readonly instanceId: string;
  readonly keyId?: string;
  readonly keyRing?: string;
  /** Where the credentials came from (IBMCLOUD_API_KEY, IBMCLOUD_IAM_TOKEN...). */
  readonly credentialEnv: string;
  /** The command can narrow a listing (`registrations`: --key-id, --crn). */
  readonly canNarrow?: boolean;
}

function serviceLabel(f: { service: 'key-service' | 'iam'; endpoint: string }): string {
  return f.service === 'iam' ? `IAM at ${f.endpoint}` : `the key service at ${f.endpoint}`;
}

/** " 409 KEY_X: message" style detail of what the service said. */
function saidDetail(said: ServerSaid): string {
  return `${said.reasonCode === undefined ? '' : ` ${said.reasonCode}`}${said.message === undefined ? '' : `: ${said.message}`}`;
}

/** What becomes of the action when the call failed (`unknown`: a rotate request went unanswered). */
function tail(s: Subject, retryLater: boolean, unknown = false): string {
  if (unknown && s.action === 'rotate') {
    return 'a rotate request went out without an answer, so the key may or may not have rotated: the next run reads the key first and does not rotate it again if it did';
  }
  switch (s.action) {
    case 'sync':
      return retryLater ? 'not synced, retry later (the next apply retries it)' : 'not synced';
    case 'list':
      return retryLater ? 'the listing did not complete, retry later' : 'the listing did not complete';
    case 'read':
      return retryLater ? 'the key could not be read, retry later' : 'the key could not be read';
    case 'rotate':
      return retryLater ? 'not rotated, retry later (the next apply retries it)' : 'not rotated';
  }
}

const STATE_WORDS: Record<number, string> = { 0: 'pre-activation', 1: 'active', 2: 'suspended (disabled)', 3: 'deactivated', 5: 'destroyed' };

/** "state 2 (suspended (disabled))". */
export function keyState(state: number): string {
  return `state ${state} (${STATE_WORDS[state] ?? 'unknown'})`;
}

/** Why a key cannot be rotated, and what to do. */
function notRotatable(f: Extract<Failure, { kind: 'not-rotatable' }>): string {
  const key = `key ${f.keyId}`;
  switch (f.why.reason) {
    case 'standard-key':
      return `${key} is a standard key, and only root keys can be rotated; declare a KeyRotation for a root key only; nothing was sent`;
    case 'imported':
      return `${key} was created from imported key material: its rotation needs new key material, which key-sync does not handle; rotate it with \`ibmcloud kp key rotate\` and the new material (a rotation at or after the request then counts as this generation's), or remove the KeyRotation; nothing was sent`;
    case 'state': {
      const { state, service } = f.why;
      const rule = service === 'hpcs'
        ? 'Hyper Protect Crypto Services rotates only active keys (state 1)'
        : service === 'key-protect'
          ? 'Key Protect rotates only active (1) and deactivated (3) keys'
          : 'the service rotates only active keys (and, on Key Protect, deactivated ones)';
      const fix = state === 2 ? 'enable the key first' : state === 5 ? 'a destroyed key cannot be rotated; remove the KeyRotation' : state === 0 ? 'activate the key first' : 'reactivate the key first';
      return `${key} is in ${keyState(state)}; ${rule}: ${fix}; nothing was sent`;
    }
  }
}

/** What to do about a refused certificate, by why it was refused. */
function tlsFix(code: string, extraCaCerts: boolean): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return "the certificate is outside its validity period: check this machine's clock, or have the endpoint's certificate renewed";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH':
      return 'the certificate does not name this host: check the host name in --endpoint (a private endpoint has its own)';
    default:
      // Node reads NODE_EXTRA_CA_CERTS once, at start-up.
      return extraCaCerts
        ? 'NODE_EXTRA_CA_CERTS is set, but the authority that signed this certificate is not in that file (Node warns on stderr if it could not read it); add it there (certificate verification stays on)'
        : 'if your network uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its PEM file (certificate verification stays on)';
  }
}

function listingProblem(p: ListingProblem, endpoint: string, s: Subject): string {
  const at = `the registrations listing at ${endpoint}`;
  // Only `registrations` can be narrowed, and by --key-id only when it lists a whole instance.
  const narrow = s.canNarrow !== true ? '' : s.keyId === undefined ? '; narrow it with --key-id or --crn' : '; narrow it with --crn';
  switch (p.kind) {
    case 'no-progress':
      return `${at} answered page ${p.page} (offset ${p.offset}) with only registrations it had already sent: the service repeats itself`;
    case 'too-many-items':
      return `${at} passed ${p.limit} registrations and was stopped${narrow}`;
    case 'too-many-bytes':
      return `${at} passed ${Math.round(p.limit / 1024 / 1024)} MiB and was stopped${narrow}`;
    case 'too-many-pages':
      return `${at} passed ${p.limit} pages and was stopped${narrow}`;
    case 'too-slow':
      return `${at} took longer than ${duration(p.limitMs)} (${plural(p.pages, 'page')}) and was stopped`;
    case 'count-mismatch':
      return `${at} ended with ${p.received} of the ${p.totalCount} registrations the service counted (they may have changed while it was read)`;
  }
}

export interface DescribeOptions {
  /** The failure is an earlier call's answer (see the client). */
  readonly remembered?: boolean;
  readonly retryLater: boolean;
  /** Whether NODE_EXTRA_CA_CERTS was set when the process started. */
  readonly extraCaCerts: boolean;
  /** Key-service requests made (named when a call was interrupted). */
  readonly attemptsMade?: number;
  /** The gate a sync was waiting for when interrupted. */
  readonly gate?: GateInfo;
  /** A rotate request went out without an answer and nothing since tells whether it was done. */
  readonly outcomeUnknown?: boolean;
}

/** One or two sentences: what failed, what the service said, and what to do. */
export function describeFailure(f: Failure, s: Subject, o: DescribeOptions): string {
  const key = s.keyId === undefined ? 'the instance' : `key ${s.keyId}`;
  const where = `instance ${s.instanceId}${s.keyRing === undefined ? '' : ` (key ring ${s.keyRing})`}`;
  const role = s.action === 'sync' || s.action === 'rotate' ? 'the Writer or Manager role' : 'at least the Reader role';
  const doing = s.action === 'sync' ? `sync ${key}` : s.action === 'rotate' ? `rotate ${key}` : s.action === 'list' ? `list the registrations of ${key}` : `read ${key}`;
  const end = (retryLater: boolean): string => tail(s, retryLater, o.outcomeUnknown === true);
  const remembered = o.remembered === true ? ` (the answer to an earlier request of this run; not asked again for ${Math.round(REFUSAL_MEMORY_MS / 60_000)} minutes)` : '';
  switch (f.kind) {
    case 'refused': {
      const detail = saidDetail(f);
      if (f.service === 'iam') {
        const said = `${f.status}${detail}${f.requestId === undefined ? '' : `; IAM request id ${f.requestId}`}`;
        return f.status === 400 || f.status === 401 || f.status === 403
          ? `IAM refused the API key from ${s.credentialEnv} (${said}); check that the key exists, is not expired or revoked, and belongs to the account that owns the instance${remembered}`
          : `IAM at ${f.endpoint} could not exchange the API key from ${s.credentialEnv} (${said}); check IBMCLOUD_IAM_API_ENDPOINT${remembered}`;
      }
      switch (f.status) {
        case 401:
          return f.staticToken
            ? `the key service refused the token from ${s.credentialEnv} (401${detail}): it is not valid or has expired; get a fresh one (\`ibmcloud iam oauth-tokens\`), or set IBMCLOUD_API_KEY instead so key-sync obtains and refreshes tokens itself`
            : `the key service refused the token for ${key} (401${detail})${f.afterTokenRefresh ? ' even after a token refresh' : ''}; the credentials need ${role} on ${where}`;
        case 403:
          return `not allowed to ${doing} (403${detail}); the credentials need ${role} on ${where}`;
        case 404:
          return `${key} was not found in ${where} (404${detail}); check --key-id, --instance-id, --key-ring and the endpoint`;
        case 409:
          return `the key service refused to ${doing} (409${detail}); this is not the time gate and will not pass by waiting`;
        case 501:
          return `the endpoint does not implement this call (501${detail}); check --endpoint / --region / --service`;
        default:
          return `the key service rejected the request for ${key} (${f.status}${detail})`;
      }
    }
    case 'unusable-connection': {
      const prefix = f.service === 'iam' ? 'the IAM token exchange failed: ' : '';
      const what = f.problem === 'tls'
        ? `the TLS certificate of ${f.endpoint} was not accepted (${f.code}); ${tlsFix(f.code, o.extraCaCerts)}`
        : f.problem === 'not-tls'
          ? `${f.endpoint} did not answer in TLS (${f.code}); check the endpoint's scheme and port`
          : `the response headers from ${f.endpoint} are larger than Node allows (${f.code}); if a proxy adds large headers, raise the limit with NODE_OPTIONS=--max-http-header-size=65536`;
      // Over-long headers mean an answer came back: the service may have acted on the request.
      const outcome = (s.action === 'sync' || s.action === 'rotate') && f.problem === 'headers' && f.service === 'key-service'
        ? `the ${s.action === 'sync' ? 'sync' : 'rotation'} may or may not have been accepted (its answer could not be read)`
        : end(false);
      return `${prefix}${what}; ${outcome}${remembered}`;
    }
    case 'gave-up': {
      const why = f.why === 'deadline'
        ? `the next retry would start past the ${Math.round(f.budgetMs / 1000)} s retry budget (${attempts(f.attempts)} made)`
        : `gave up after ${attempts(f.attempts)}`;
      const last = `last: ${describeLast(f.last)}${f.last.kind === 'status' ? saidDetail(f) : ''}`;
      if (f.service === 'iam') {
        return `could not get an IAM token from ${f.endpoint}: ${why}; ${last}; ${f.reachedKeyService ? 'the call could not go on without a new token' : 'nothing was sent to the key service'}, retry later`;
      }
      return `${serviceLabel(f)}: ${why}; ${last}; ${end(true)}`;
    }
    case 'bad-response': {
      const cut = f.detail === 'cut-at-cap' ? ' (cut at the size cap)' : '';
      switch (f.what) {
        case 'token':
          return `IAM at ${f.endpoint} answered ${f.status} without a usable access_token${cut}; check IBMCLOUD_IAM_API_ENDPOINT`;
        case 'registrations':
          return `the registrations listing at ${f.endpoint} answered ${f.status} with a body that is not a registrations collection${cut}; ${end(false)}`;
        case 'key':
        case 'versions':
          return `the key service at ${f.endpoint} answered ${f.status} with a body that is not a key${cut}; ${end(false)}`;
      }
      break;
    }
    case 'listing':
      return `${listingProblem(f.problem, f.endpoint, s)}; ${end(o.retryLater)}`;
    case 'not-rotatable':
      return notRotatable(f);
    case 'internal':
      return `internal error in key-sync (${f.name}); ${end(false)}. Please report it`;
    case 'aborted':
      if (s.action === 'sync') return abortedSync(f.phase, o.attemptsMade ?? 0, o.gate);
      if (s.action === 'rotate' && f.phase === 'gate-wait') return `interrupted while waiting for the rotation time gate${o.gate === undefined ? '' : ` (opens ${utc(o.gate.notBefore)})`}; not rotated. The next apply will retry it`;
      return `interrupted ${abortedWhere(f.phase, o.attemptsMade ?? 0)}; ${end(true)}`;
  }
  return end(o.retryLater);
}

function abortedWhere(phase: string, attemptsMade: number): string {
  switch (phase) {
    case 'backoff':
      return attemptsMade === 0 ? 'while waiting out a backoff, before anything was sent' : `while backing off after attempt ${attemptsMade}`;
    case 'request':
      return `during attempt ${attemptsMade}`;
    case 'token':
      return 'while getting an IAM token';
    case 'reading-key':
      return 'while reading the key';
    default:
      return 'before anything was sent';
  }
}

/** An interrupted sync, naming the attempt and the gate when there was one. */
function abortedSync(phase: string, attemptsMade: number, gate: GateInfo | undefined): string {
  switch (phase) {
    case 'gate-wait':
      return `interrupted while waiting for the sync time gate${gate === undefined ? '' : ` (opens ${utc(gate.notBefore)})`}; not synced. The next apply will retry it`;
    case 'backoff':
      return attemptsMade === 0
        ? 'interrupted while waiting out a backoff, before anything was sent; not synced. The next apply will retry it'
        : `interrupted while backing off after attempt ${attemptsMade}; not synced. The next apply will retry it`;
    case 'request':
      return `interrupted during attempt ${attemptsMade}, before the service answered; the sync may or may not have been accepted. The next apply will retry it (a repeated sync is harmless; at worst it is gated)`;
    case 'token':
      return 'interrupted while getting an IAM token; nothing was sent to the key service. The next apply will retry it';
    case 'listing':
      return 'interrupted while listing registrations; no sync was sent. The next apply will retry it';
    default:
      return 'interrupted before anything was sent; not synced';
  }
}

function gateNoteText(note: GateNote | undefined): string {
  switch (note) {
    case 'no-time-in-message':
      return ' (the service named no time; assuming about an hour)';
    case 'far-future':
      return " (unusually far away; check the instance's recent key operations)";
    case 'time-in-the-past':
      return ' (the time the service named has passed; retrying shortly)';
    default:
      return '';
  }
}

/** A sync that stopped at the time gate. */
export function gatedSyncMessage(gate: GateInfo, maxWaitSeconds: number): string {
  const away = `${duration(gate.opensInMs)}${serviceClockNote(gate.clockSkewMs)}`;
  const limit = maxWaitSeconds === 0 ? '--max-wait is 0 (never wait)' : `beyond --max-wait ${maxWaitSeconds} s`;
  const note = gate.note === 'time-in-the-past' ? '' : gateNoteText(gate.note);
  return `sync time gate closed until ${utc(gate.notBefore)}, in ${away}${note}; ${limit}; not synced. The next apply will retry it (Terraform taints the resource)`;
}

/** Why the rotation gate time is not the plain lastRotateDate + 1 h. */
export function rotationGateNoteText(note: GateNote | undefined): string {
  switch (note) {
    case 'no-time-in-message':
      return ' (the service refused the rotation, but the key shows no last rotation; trying again shortly)';
    case 'time-in-the-past':
      return " (the service refused the rotation although the key's last rotation is over an hour old; trying again shortly)";
    default:
      return '';
  }
}

/** The first progress line of a gate wait. */
export function gateWaitStartLine(gate: 'sync' | 'rotation', notBefore: Date, opensInMs: number, skewMs: number, note: GateNote | undefined, waitMs: number, maxWaitLeftMs: number): string {
  const noteText = gate === 'rotation' ? rotationGateNoteText(note) : gateNoteText(note);
  return `${gate} time gate closed until ${utc(notBefore)} (in ${duration(opensInMs)}${byServiceClock(skewMs)})${noteText}; waiting ${duration(waitMs)} within --max-wait (${duration(maxWaitLeftMs)} left)`;
}

/** Why the IAM token cache is off, with the fix. */
export function describeStoreOff(off: StoreOff): string {
  switch (off.kind) {
    case 'switched-off':
      return `KEY_SYNC_TOKEN_CACHE=${off.value} turned the token cache off`;
    case 'unknown-switch':
      return `KEY_SYNC_TOKEN_CACHE has the value ${JSON.stringify(off.value)}, which is neither on nor off; the token cache stays off: set KEY_SYNC_TOKEN_CACHE=on or off`;
    case 'no-posix-owners':
      return 'this platform has no POSIX file owners or O_NOFOLLOW, which the token cache needs';
    case 'symlink':
      return `${off.dir} is a symbolic link; the token cache never follows one: remove it`;
    case 'not-a-directory':
      return `${off.dir} is not a directory: remove it`;
    case 'not-owned':
      return `${off.dir} is owned by uid ${off.owner}, not by you (uid ${off.uid}): remove it or set XDG_RUNTIME_DIR to a directory of yours`;
    case 'open-to-others':
      return `${off.dir} has mode ${off.mode.toString(8).padStart(4, '0')}, which lets others in: chmod 700 ${off.dir}`;
    case 'unusable':
      return `cannot create or read ${off.dir} (${off.code})`;
  }
}
