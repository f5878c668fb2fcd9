/**
 * A cross-process cache of IAM access tokens, so that the one process Terraform starts per
 * key does not each exchange the API key at IAM again: one exchange per API key and IAM
 * endpoint per token lifetime, shared through files only the user can read.
 *
 * The rules (each one is a test in test/unit/token-store.test.ts):
 * - an entry holds only the access token, its expiry and the entry's own id; never the
 *   API key (nor a refresh token);
 * - the directory is `$XDG_RUNTIME_DIR/key-sync` when that is set (an absolute path),
 *   else `<tmpdir>/key-sync-<uid>`; created 0700; refused (the store is then off, with
 *   the reason) when it is a symlink, not a directory, not owned by the user, or has any
 *   group or other permission bit;
 * - entry files are 0600, written to a temp file in the same directory and renamed over
 *   the entry (a reader sees the old entry or the new one, never part of one); every file
 *   is opened with O_NOFOLLOW, so a symlink is never followed;
 * - an entry's name is the hex SHA-256 of a domain-separated (IAM endpoint, API key), and
 *   the content repeats it: another key or another IAM endpoint never gets the entry;
 * - an entry is used only with more than a margin (5 min by default) left before expiry;
 *   a corrupt, foreign, oversized or expired entry is ignored (and overwritten next time);
 * - `KEY_SYNC_TOKEN_CACHE=off` turns it off.
 *
 * Never throws: every failure makes the store miss (or `put` return false), so the caller
 * just exchanges the API key as it would without a store.
 *
 * Concurrent first use (Terraform starts ten processes at once): {@link sharedToken} lets
 * one process exchange while the others wait for its entry, through an O_EXCL lock file
 * next to the entry (holding a pid and a time, nothing secret).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HEADER_SAFE } from './iam';

/** The environment variable that turns the store off (`off`, `0`, `false`, `no`). */
export const TOKEN_CACHE_ENV = 'KEY_SYNC_TOKEN_CACHE';
/** An entry is used only while more than this is left before it expires. */
export const DEFAULT_MARGIN_MS = 5 * 60_000;
/** An entry claiming more than this much life left is not believed (IAM tokens live an hour). */
export const MAX_ENTRY_LIFETIME_MS = 86_400_000;
/** Entries are tiny; anything bigger is not ours. */
export const MAX_ENTRY_BYTES = 16_384;
/** A lock older than this is a crashed holder's, and is taken over. */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** How long {@link sharedToken} waits for a peer's exchange before doing its own. */
export const DEFAULT_PEER_WAIT_MS = 10_000;
/** How often a waiting process looks for the peer's entry. */
export const DEFAULT_POLL_MS = 10;

const ENTRY_VERSION = 1;
const DOMAIN = 'key-sync/token-store/v1';

/** What the store keeps and hands out for one API key at one IAM endpoint. */
export interface StoredToken {
  readonly accessToken: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** The JSON in an entry file. */
interface EntryDocument {
  readonly v: number;
  readonly id: string;
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** What reading an entry found (`peek`): the entry, nothing, or something ignored and why. */
export type EntryLookup =
  | { readonly state: 'found'; readonly token: StoredToken }
  | { readonly state: 'missing' }
  | { readonly state: 'ignored'; readonly reason: string };

/** A held lock; `release()` removes it if it is still ours. */
export interface TokenLease {
  release(): void;
}

/** The cache. A disabled store (see {@link TokenStore.disabled}) misses on every call. */
export interface TokenStore {
  /** The directory entries live in; undefined when disabled. */
  readonly dir: string | undefined;
  /** Why the store is off (switched off, unsafe directory, no POSIX owner); undefined when on. */
  readonly disabled: StoreOff | undefined;
  /** The token for (apiKey, iamBaseUrl) with more than the margin left at `now`, else undefined. */
  get(apiKey: string, iamBaseUrl: string, now: number): StoredToken | undefined;
  /** What the entry file holds, fresh or not (for diagnostics and tests). */
  peek(apiKey: string, iamBaseUrl: string): EntryLookup;
  /** Stores the token atomically; false when it was not stored (disabled, short-lived, I/O error). */
  put(apiKey: string, iamBaseUrl: string, token: StoredToken, now: number): boolean;
  /**
   * Drops the entry (after the key service answered 401 to its token). With `accessToken`,
   * only if the entry still holds that token, so a newer token a peer stored survives.
   */
  invalidate(apiKey: string, iamBaseUrl: string, accessToken?: string): void;
  /** Takes the exchange lock for (apiKey, iamBaseUrl), or undefined when a live peer holds it. */
  lock(apiKey: string, iamBaseUrl: string, now: number): TokenLease | undefined;
  /** Whether a lock for (apiKey, iamBaseUrl) exists and is not stale at `now`. */
  locked(apiKey: string, iamBaseUrl: string, now: number): boolean;
}

/** What {@link openTokenStore} can be given instead of the real process and clock-free defaults. */
export interface TokenStoreDeps {
  /** The user id that must own the directory and files. @default process.getuid() */
  readonly uid?: number;
  /** This process's id, written into locks. @default process.pid */
  readonly pid?: number;
  /** Whether a process is alive (a dead lock holder's lock is taken over). @default kill(pid, 0) */
  readonly isAlive?: (pid: number) => boolean;
  /** The fallback base directory when `XDG_RUNTIME_DIR` is not set. @default env.TMPDIR, else os.tmpdir() */
  readonly tmpdir?: string;
  /** Left-before-expiry below which an entry is not used. @default DEFAULT_MARGIN_MS */
  readonly marginMs?: number;
  /** Age after which a lock is stale. @default DEFAULT_LOCK_STALE_MS */
  readonly lockStaleMs?: number;
}

// ---------------------------------------------------------------------------------------
// Pure helpers

/**
 * The entry id of (apiKey, iamBaseUrl): hex SHA-256 of a domain-separated, unambiguous
 * encoding of both (a JSON array), so no other key or endpoint can share it.
 */
export function entryId(apiKey: string, iamBaseUrl: string): string {
  return createHash('sha256').update(JSON.stringify([DOMAIN, iamBaseUrl, apiKey])).digest('hex');
}

/** Whether a token with `expiresAt` may be handed out at `now`: more than `marginMs` left, and not absurdly far off. */
export function isFresh(expiresAt: number, now: number, marginMs = DEFAULT_MARGIN_MS): boolean {
  return Number.isFinite(expiresAt) && expiresAt - now > marginMs && expiresAt - now <= MAX_ENTRY_LIFETIME_MS;
}

/** Why the store is off, as a value (the CLI words it: output/words.ts). */
export type StoreOff =
  /** KEY_SYNC_TOKEN_CACHE=off (or 0, false, no). */
  | { readonly kind: 'switched-off'; readonly value: string }
  /** KEY_SYNC_TOKEN_CACHE has a value that is neither on nor off. */
  | { readonly kind: 'unknown-switch'; readonly value: string }
  | { readonly kind: 'no-posix-owners' }
  | { readonly kind: 'symlink'; readonly dir: string }
  | { readonly kind: 'not-a-directory'; readonly dir: string }
  | { readonly kind: 'not-owned'; readonly dir: string; readonly owner: number; readonly uid: number }
  | { readonly kind: 'open-to-others'; readonly dir: string; readonly mode: number }
  | { readonly kind: 'unusable'; readonly dir: string; readonly code: string };

/** Reads `KEY_SYNC_TOKEN_CACHE`: on (unset, empty, on/1/true/yes), or why it is off. */
export function switchState(raw: string | undefined): { readonly on: true } | { readonly on: false; readonly off: StoreOff } {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'on' || v === '1' || v === 'true' || v === 'yes') return { on: true };
  if (v === 'off' || v === '0' || v === 'false' || v === 'no') return { on: false, off: { kind: 'switched-off', value: (raw ?? '').trim() } };
  const text = raw ?? '';
  return { on: false, off: { kind: 'unknown-switch', value: text.length > 40 ? `${text.slice(0, 37)}...` : text } };
}

/**
 * The directory the store uses: `$XDG_RUNTIME_DIR/key-sync` when XDG_RUNTIME_DIR is an
 * absolute path (the XDG spec says to ignore a relative one), else `<tmpdir>/key-sync-<uid>`.
 */
export function storeDirectory(env: Readonly<Record<string, string | undefined>>, uid: number, tmpdir: string): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, 'key-sync');
  return path.join(tmpdir, `key-sync-${uid}`);
}

/** Why a directory's lstat makes it unusable, or undefined when it is fine. */
export function directoryProblem(st: { isSymbolicLink(): boolean; isDirectory(): boolean; uid: number; mode: number }, uid: number, dir: string): StoreOff | undefined {
  if (st.isSymbolicLink()) return { kind: 'symlink', dir };
  if (!st.isDirectory()) return { kind: 'not-a-directory', dir };
  if (st.uid !== uid) return { kind: 'not-owned', dir, owner: st.uid, uid };
  if ((st.mode & 0o077) !== 0) return { kind: 'open-to-others', dir, mode: st.mode & 0o777 };
  return undefined;
}

/** Parses an entry file's text; the token when it is a well-formed entry with id `id`, else why not. */
export function parseEntry(text: string, id: string): { readonly token: StoredToken } | { readonly problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { problem: 'not a JSON object' };
  const d = doc as Partial<Record<keyof EntryDocument, unknown>>;
  if (d.v !== ENTRY_VERSION) return { problem: `version ${JSON.stringify(d.v)}, not ${ENTRY_VERSION}` };
  if (d.id !== id) return { problem: 'the id inside does not match its name (a copied or foreign entry)' };
  if (typeof d.accessToken !== 'string' || !HEADER_SAFE.test(d.accessToken)) return { problem: 'no usable accessToken' };
  if (typeof d.expiresAt !== 'number' || !Number.isFinite(d.expiresAt)) return { problem: 'no numeric expiresAt' };
  return { token: { accessToken: d.accessToken, expiresAt: d.expiresAt } };
}

/** The text of an entry file: only the id, the token and its expiry. */
export function entryText(id: string, token: StoredToken): string {
  const doc: EntryDocument = { v: ENTRY_VERSION, id, accessToken: token.accessToken, expiresAt: token.expiresAt };
  return `${JSON.stringify(doc)}\n`;
}

// ---------------------------------------------------------------------------------------
// The store

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is someone else's; only ESRCH says it is gone.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A store that is off: misses, stores nothing, never touches the file system. */
function disabledStore(off: StoreOff): TokenStore {
  return {
    dir: undefined,
    disabled: off,
    get: () => undefined,
    peek: () => ({ state: 'missing' }),
    put: () => false,
    invalidate: () => undefined,
    lock: () => undefined,
    locked: () => false,
  };
}

/**
 * Opens the store for the user running this process. Never throws: a store that cannot be
 * used safely comes back disabled, with the reason in `disabled` (worth a debug line, not
 * a failure: the CLI then exchanges the API key itself, as without a store).
 */
export function openTokenStore(env: Readonly<Record<string, string | undefined>>, deps: TokenStoreDeps = {}): TokenStore {
  const sw = switchState(env[TOKEN_CACHE_ENV]);
  if (!sw.on) return disabledStore(sw.off);
  const uid = deps.uid ?? (typeof process.getuid === 'function' ? process.getuid() : undefined);
  if (uid === undefined || O_NOFOLLOW === 0) return disabledStore({ kind: 'no-posix-owners' });
  const tmpEnv = env['TMPDIR'];
  const tmpdir = deps.tmpdir ?? (tmpEnv !== undefined && path.isAbsolute(tmpEnv) ? tmpEnv : os.tmpdir());
  const dir = storeDirectory(env, uid, tmpdir);
  let st: fs.Stats;
  try {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    st = fs.lstatSync(dir);
  } catch (e) {
    return disabledStore({ kind: 'unusable', dir, code: (e as NodeJS.ErrnoException).code ?? 'error' });
  }
  const problem = directoryProblem(st, uid, dir);
  if (problem !== undefined) return disabledStore(problem);
  return new FileTokenStore(dir, { dev: st.dev, ino: st.ino }, uid, {
    pid: deps.pid ?? process.pid,
    isAlive: deps.isAlive ?? defaultIsAlive,
    marginMs: deps.marginMs ?? DEFAULT_MARGIN_MS,
    lockStaleMs: deps.lockStaleMs ?? DEFAULT_LOCK_STALE_MS,
  });
}

interface StoreOptions {
  readonly pid: number;
  readonly isAlive: (pid: number) => boolean;
  readonly marginMs: number;
  readonly lockStaleMs: number;
}

class FileTokenStore implements TokenStore {
  readonly disabled = undefined;

  constructor(
    readonly dir: string,
    private readonly identity: { readonly dev: number; readonly ino: number },
    private readonly uid: number,
    private readonly opts: StoreOptions,
  ) {}

  /** The directory is still the one checked at open (not replaced by a symlink or another directory since). */
  private dirUnchanged(): boolean {
    try {
      const st = fs.lstatSync(this.dir);
      return st.isDirectory() && st.dev === this.identity.dev && st.ino === this.identity.ino && directoryProblem(st, this.uid, this.dir) === undefined;
    } catch {
      return false;
    }
  }

  private file(id: string, suffix: string): string {
    return path.join(this.dir, `${id}${suffix}`);
  }

  /** Reads one of our files: O_NOFOLLOW, a regular file, ours, 0600 or stricter, bounded. */
  private readOwn(file: string): { text: string } | { missing: true } | { problem: string } {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { missing: true };
      return { problem: code === 'ELOOP' ? 'a symbolic link (never followed)' : `cannot open it (${code})` };
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return { problem: 'not a regular file' };
      if (st.uid !== this.uid) return { problem: `owned by uid ${st.uid}, not by you` };
      if ((st.mode & 0o077) !== 0) return { problem: `mode ${(st.mode & 0o777).toString(8)}, readable by others` };
      if (st.size > MAX_ENTRY_BYTES) return { problem: `${st.size} bytes, too big to be an entry` };
      const buf = Buffer.alloc(MAX_ENTRY_BYTES + 1);
      let n = 0;
      for (;;) {
        const r = fs.readSync(fd, buf, n, buf.length - n, null);
        if (r === 0) break;
        n += r;
        if (n > MAX_ENTRY_BYTES) return { problem: 'too big to be an entry' };
      }
      return { text: buf.subarray(0, n).toString('utf8') };
    } catch (e) {
      return { problem: `cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
    } finally {
      fs.closeSync(fd);
    }
  }

  peek(apiKey: string, iamBaseUrl: string): EntryLookup {
    if (!this.dirUnchanged()) return { state: 'ignored', reason: `${this.dir} changed since it was checked` };
    const id = entryId(apiKey, iamBaseUrl);
    const r = this.readOwn(this.file(id, '.token'));
    if ('missing' in r) return { state: 'missing' };
    if ('problem' in r) return { state: 'ignored', reason: r.problem };
    const parsed = parseEntry(r.text, id);
    if ('problem' in parsed) return { state: 'ignored', reason: parsed.problem };
    return { state: 'found', token: parsed.token };
  }

  get(apiKey: string, iamBaseUrl: string, now: number): StoredToken | undefined {
    const r = this.peek(apiKey, iamBaseUrl);
    return r.state === 'found' && isFresh(r.token.expiresAt, now, this.opts.marginMs) ? r.token : undefined;
  }

  /** Creates `file` exclusively (0600, never through a symlink) with `text`; false if it exists or fails. */
  private createExclusive(file: string, text: string): boolean {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o600);
    } catch {
      return false;
    }
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, text);
      return true;
    } catch {
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // nothing more to do: the store misses
      }
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  put(apiKey: string, iamBaseUrl: string, token: StoredToken, now: number): boolean {
    if (!HEADER_SAFE.test(token.accessToken) || !isFresh(token.expiresAt, now, this.opts.marginMs)) return false;
    if (!this.dirUnchanged()) return false;
    const id = entryId(apiKey, iamBaseUrl);
    const tmp = this.file(id, `.${this.opts.pid}.${randomBytes(6).toString('hex')}.tmp`);
    if (!this.createExclusive(tmp, entryText(id, token))) return false;
    try {
      // rename() replaces the entry (even a symlink planted there) without following it.
      fs.renameSync(tmp, this.file(id, '.token'));
      return true;
    } catch {
      fs.rmSync(tmp, { force: true });
      return false;
    }
  }

  invalidate(apiKey: string, iamBaseUrl: string, accessToken?: string): void {
    if (!this.dirUnchanged()) return;
    const file = this.file(entryId(apiKey, iamBaseUrl), '.token');
    if (accessToken !== undefined) {
      const r = this.peek(apiKey, iamBaseUrl);
      if (r.state === 'found' && r.token.accessToken !== accessToken) return;
      if (r.state === 'missing') return;
    }
    try {
      fs.unlinkSync(file);
    } catch {
      // already gone
    }
  }

  /** The lock's holder and time, or undefined when there is no readable lock. */
  private readLock(file: string): { pid: number; at: number; nonce: string } | 'missing' | 'unreadable' {
    const r = this.readOwn(file);
    if ('missing' in r) return 'missing';
    if ('problem' in r) return 'unreadable';
    try {
      const j = JSON.parse(r.text) as { pid?: unknown; at?: unknown; nonce?: unknown };
      if (typeof j.pid === 'number' && typeof j.at === 'number' && typeof j.nonce === 'string') return { pid: j.pid, at: j.at, nonce: j.nonce };
    } catch {
      // being written, or corrupt
    }
    return 'unreadable';
  }

  private lockIsLive(file: string, now: number): boolean | 'missing' {
    const l = this.readLock(file);
    if (l === 'missing') return 'missing';
    if (l === 'unreadable') {
      // A holder between create and write, or junk: judge by the file's age.
      try {
        return now - fs.lstatSync(file).mtimeMs < this.opts.lockStaleMs;
      } catch {
        return 'missing';
      }
    }
    return now - l.at < this.opts.lockStaleMs && l.at <= now + this.opts.lockStaleMs && (l.pid === this.opts.pid || this.opts.isAlive(l.pid));
  }

  locked(apiKey: string, iamBaseUrl: string, now: number): boolean {
    if (!this.dirUnchanged()) return false;
    return this.lockIsLive(this.file(entryId(apiKey, iamBaseUrl), '.lock'), now) === true;
  }

  lock(apiKey: string, iamBaseUrl: string, now: number): TokenLease | undefined {
    if (!this.dirUnchanged()) return undefined;
    const file = this.file(entryId(apiKey, iamBaseUrl), '.lock');
    const nonce = randomBytes(8).toString('hex');
    const text = `${JSON.stringify({ pid: this.opts.pid, at: now, nonce })}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.createExclusive(file, text)) {
        return {
          release: () => {
            const l = this.readLock(file);
            if (typeof l === 'object' && l.nonce === nonce) fs.rmSync(file, { force: true });
          },
        };
      }
      const live = this.lockIsLive(file, now);
      if (live === true) return undefined;
      // Stale (crashed or long-gone holder) or vanished: take it over once.
      if (live === false) {
        try {
          fs.rmSync(file, { force: true });
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// One exchange for many processes

/** How {@link sharedToken} got its token. */
export type SharedToken<T> =
  | { readonly source: 'store'; readonly token: StoredToken }
  | { readonly source: 'peer'; readonly token: StoredToken }
  | { readonly source: 'exchange'; readonly token: T };

/** Clock and waiting for {@link sharedToken}. */
export interface SharedTokenOptions {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Longest wait for a peer's exchange before exchanging ourselves; pass what is left of the call's budget. @default DEFAULT_PEER_WAIT_MS */
  readonly waitMs?: number;
  /** @default DEFAULT_POLL_MS */
  readonly pollMs?: number;
  /** Stops waiting for a peer (the exchange then runs, and sees the abort itself). */
  readonly signal?: AbortSignal;
}

/**
 * A token for (apiKey, iamBaseUrl): the store's when it has a fresh one; else this process
 * takes the lock, exchanges (`exchange`, which throws on failure), stores the result and
 * releases the lock; or, when a peer holds the lock, waits for the peer's entry (at most
 * `waitMs`). A peer that gives up without storing (IAM refused it, it crashed) releases or
 * leaves a stale lock; the waiters then exchange themselves, in parallel, so a refused API
 * key is not refused once per process in a queue.
 */
export async function sharedToken<T extends { readonly accessToken: string; readonly expiresAt?: number }>(
  store: TokenStore,
  apiKey: string,
  iamBaseUrl: string,
  exchange: () => Promise<T>,
  opts: SharedTokenOptions,
): Promise<SharedToken<T>> {
  const stored = store.get(apiKey, iamBaseUrl, opts.now());
  if (stored !== undefined) return { source: 'store', token: stored };
  const ownExchange = async (): Promise<SharedToken<T>> => {
    const t = await exchange();
    if (t.expiresAt !== undefined) store.put(apiKey, iamBaseUrl, { accessToken: t.accessToken, expiresAt: t.expiresAt }, opts.now());
    return { source: 'exchange', token: t };
  };
  if (store.disabled !== undefined) return ownExchange();
  const lease = store.lock(apiKey, iamBaseUrl, opts.now());
  if (lease !== undefined) {
    try {
      // A peer may have stored its token between our get() and our lock().
      const again = store.get(apiKey, iamBaseUrl, opts.now());
      if (again !== undefined) return { source: 'peer', token: again };
      return await ownExchange();
    } finally {
      lease.release();
    }
  }
  const until = opts.now() + (opts.waitMs ?? DEFAULT_PEER_WAIT_MS);
  // Polls often at first (a peer's exchange takes one round trip), then less (a stuck
  // peer must not cost the waiters CPU).
  let poll = opts.pollMs ?? DEFAULT_POLL_MS;
  while (opts.now() < until && opts.signal?.aborted !== true) {
    await opts.sleep(Math.min(poll, until - opts.now()));
    poll = Math.min(poll * 2, 250);
    const t = store.get(apiKey, iamBaseUrl, opts.now());
    if (t !== undefined) return { source: 'peer', token: t };
    if (!store.locked(apiKey, iamBaseUrl, opts.now())) break;
  }
  // One last look: the peer may have stored and released between the two checks above.
  const late = store.get(apiKey, iamBaseUrl, opts.now());
  if (late !== undefined) return { source: 'peer', token: late };
  return ownExchange();
}
