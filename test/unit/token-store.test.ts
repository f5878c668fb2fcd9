/**
 * The cross-process IAM token store: one test per rule (see src/client/token-store.ts),
 * pure helpers as tables, the file rules against a real temp directory, the clock injected.
 * Several processes at once: test/integration/token-store-processes.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_MARGIN_MS,
  directoryProblem,
  entryId,
  entryText,
  isFresh,
  openTokenStore,
  parseEntry,
  sharedToken,
  storeDirectory,
  switchState,
  type StoreOff,
  type TokenStore,
} from '../../src/client/token-store';
import { describeStoreOff } from '../../src/cli/output/words';

/** The store's reason, as the CLI words it. */
const offWords = (off: StoreOff | undefined): string => (off === undefined ? '' : describeStoreOff(off));

const CANARY = 'CANARY-apikey-tokenstore-4d1f0e9a8b7c6d5e4f3a2b1c';
const OTHER_KEY = 'another-api-key-0123456789abcdef';
const IAM = 'https://iam.cloud.ibm.com';
const NOW = Date.parse('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;
const TOKEN = { accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl', expiresAt: NOW + HOUR };
const uid = process.getuid?.() ?? -1;
const isRoot = uid === 0;

let base: string;
let dirs: string[] = [];

function tempBase(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-token-store-'));
  dirs.push(d);
  return d;
}

/** A store under a fresh XDG_RUNTIME_DIR (0700, like a real one). */
function openFresh(extraEnv: Record<string, string> = {}, deps: Parameters<typeof openTokenStore>[1] = {}): TokenStore {
  return openTokenStore({ XDG_RUNTIME_DIR: base, ...extraEnv }, deps);
}

/** Every file under `dir`: its name and its bytes. */
function everything(dir: string): string {
  return fs.readdirSync(dir).map((n) => `${n}\n${fs.lstatSync(path.join(dir, n)).isFile() ? fs.readFileSync(path.join(dir, n), 'utf8') : ''}`).join('\n');
}

beforeEach(() => {
  base = tempBase();
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('pure helpers', () => {
  test('entryId: hex SHA-256, deterministic, never the key itself', () => {
    const id = entryId(CANARY, IAM);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(entryId(CANARY, IAM)).toBe(id);
    expect(id).not.toContain(CANARY);
  });

  test.each([
    ['another API key', [OTHER_KEY, IAM]],
    ['another IAM endpoint', [CANARY, 'https://private.iam.cloud.ibm.com']],
    ['the same characters split differently', [CANARY.slice(1), `${IAM}${CANARY.slice(0, 1)}`]],
    ['endpoint and key swapped', [IAM, CANARY]],
  ] as const)('entryId differs for %s', (_what, [key, iam]) => {
    expect(entryId(key, iam)).not.toBe(entryId(CANARY, IAM));
  });

  test.each([
    ['an hour left', NOW + HOUR, NOW, DEFAULT_MARGIN_MS, true],
    ['1 ms more than the margin left', NOW + DEFAULT_MARGIN_MS + 1, NOW, DEFAULT_MARGIN_MS, true],
    ['exactly the margin left', NOW + DEFAULT_MARGIN_MS, NOW, DEFAULT_MARGIN_MS, false],
    ['less than the margin left', NOW + 60_000, NOW, DEFAULT_MARGIN_MS, false],
    ['expired', NOW - 1, NOW, DEFAULT_MARGIN_MS, false],
    ['a day and a ms away (not believed)', NOW + 24 * HOUR + 1, NOW, DEFAULT_MARGIN_MS, false],
    ['NaN', Number.NaN, NOW, DEFAULT_MARGIN_MS, false],
    ['Infinity', Number.POSITIVE_INFINITY, NOW, DEFAULT_MARGIN_MS, false],
    ['margin 0, 1 ms left', NOW + 1, NOW, 0, true],
  ])('isFresh: %s -> %s', (_what, expiresAt, now, margin, fresh) => {
    expect(isFresh(expiresAt, now, margin)).toBe(fresh);
  });

  test.each([
    [undefined, true],
    ['', true],
    ['on', true],
    ['1', true],
    ['TRUE', true],
    ['yes', true],
    ['off', false],
    [' OFF ', false],
    ['0', false],
    ['false', false],
    ['no', false],
    ['sometimes', false],
  ])('switchState(%j).on = %s', (raw, on) => {
    expect(switchState(raw).on).toBe(on);
  });

  test('switchState: an unknown value names the variable, the value and the fix', () => {
    const s = switchState('sometimes');
    expect(s).toEqual({ on: false, off: { kind: 'unknown-switch', value: 'sometimes' } });
    expect(s.on ? '' : offWords(s.off)).toMatch(/KEY_SYNC_TOKEN_CACHE.*"sometimes".*KEY_SYNC_TOKEN_CACHE=on or off/);
  });

  test.each([
    ['XDG_RUNTIME_DIR set', { XDG_RUNTIME_DIR: '/run/user/1000' }, '/run/user/1000/key-sync'],
    ['XDG_RUNTIME_DIR relative (ignored, as the XDG spec says)', { XDG_RUNTIME_DIR: 'run/user' }, '/tmp/key-sync-1000'],
    ['XDG_RUNTIME_DIR empty', { XDG_RUNTIME_DIR: '' }, '/tmp/key-sync-1000'],
    ['XDG_RUNTIME_DIR unset', {}, '/tmp/key-sync-1000'],
  ])('storeDirectory: %s', (_what, env, dir) => {
    expect(storeDirectory(env, 1000, '/tmp')).toBe(dir);
  });

  const stat = (o: { link?: boolean; dir?: boolean; uid?: number; mode?: number }): Parameters<typeof directoryProblem>[0] => ({
    isSymbolicLink: () => o.link === true,
    isDirectory: () => o.dir !== false,
    uid: o.uid ?? 1000,
    mode: o.mode ?? 0o40700,
  });
  test.each([
    ['0700, ours', stat({}), undefined],
    ['a symlink', stat({ link: true }), /symbolic link/],
    ['a file', stat({ dir: false }), /not a directory/],
    ['owned by someone else', stat({ uid: 0 }), /owned by uid 0, not by you \(uid 1000\)/],
    ['0750', stat({ mode: 0o40750 }), /mode 0750.*chmod 700/],
    ['0701', stat({ mode: 0o40701 }), /mode 0701/],
    ['0777 with the sticky bit', stat({ mode: 0o41777 }), /mode 0777/],
  ])('directoryProblem: %s', (_what, st, problem) => {
    const p = directoryProblem(st, 1000, '/tmp/key-sync-1000');
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(offWords(p)).toMatch(problem);
  });

  const id = entryId(CANARY, IAM);
  test.each([
    ['not JSON', 'eyJ{', /not JSON/],
    ['truncated', entryText(id, TOKEN).slice(0, 40), /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['another version', JSON.stringify({ v: 2, id, accessToken: 'a', expiresAt: NOW }), /version 2/],
    ['another id (a copied entry)', entryText(entryId(OTHER_KEY, IAM), TOKEN), /does not match/],
    ['no token', JSON.stringify({ v: 1, id, expiresAt: NOW }), /accessToken/],
    ['a token with a space', JSON.stringify({ v: 1, id, accessToken: 'a b', expiresAt: NOW }), /accessToken/],
    ['expiry as a string', JSON.stringify({ v: 1, id, accessToken: 'a', expiresAt: String(NOW) }), /expiresAt/],
  ])('parseEntry refuses %s', (_what, text, problem) => {
    expect(parseEntry(text, id)).toEqual({ problem: expect.stringMatching(problem) });
  });

  test('parseEntry reads what entryText wrote', () => {
    expect(parseEntry(entryText(id, TOKEN), id)).toEqual({ token: TOKEN });
  });
});

describe('the directory', () => {
  test('is $XDG_RUNTIME_DIR/key-sync, created 0700', () => {
    const s = openFresh();
    expect(s.disabled).toBeUndefined();
    expect(s.dir).toBe(path.join(base, 'key-sync'));
    const st = fs.lstatSync(s.dir as string);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(uid);
  });

  test('without XDG_RUNTIME_DIR: key-sync-<uid> under TMPDIR', () => {
    const s = openTokenStore({ TMPDIR: base });
    expect(s.dir).toBe(path.join(base, `key-sync-${uid}`));
    expect(fs.lstatSync(s.dir as string).mode & 0o777).toBe(0o700);
  });

  test('an existing directory with the right owner and mode is used as it is', () => {
    fs.mkdirSync(path.join(base, 'key-sync'), { mode: 0o700 });
    expect(openFresh().disabled).toBeUndefined();
  });

  test('refused when it is a symlink, even to a good directory; nothing is written through it', () => {
    const target = path.join(base, 'elsewhere');
    fs.mkdirSync(target, { mode: 0o700 });
    fs.symlinkSync(target, path.join(base, 'key-sync'));
    const s = openFresh();
    expect(offWords(s.disabled)).toMatch(/symbolic link/);
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(false);
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    expect(fs.readdirSync(target)).toEqual([]);
  });

  test('refused when group or others have any permission; its mode is left alone', () => {
    const dir = path.join(base, 'key-sync');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o750);
    const s = openFresh();
    expect(offWords(s.disabled)).toMatch(/mode 0750, which lets others in: chmod 700/);
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(false);
    expect(fs.lstatSync(dir).mode & 0o777).toBe(0o750);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('refused when not owned by the user (another uid injected)', () => {
    const s = openFresh({}, { uid: uid + 1 });
    expect(offWords(s.disabled)).toMatch(new RegExp(`owned by uid ${uid}, not by you \\(uid ${uid + 1}\\)`));
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(false);
  });

  test('refused when it is a file', () => {
    fs.writeFileSync(path.join(base, 'key-sync'), 'x');
    expect(offWords(openFresh().disabled)).toMatch(/not a directory/);
  });

  test('refused (not thrown) when it cannot be created', () => {
    const s = openTokenStore({ XDG_RUNTIME_DIR: path.join(base, 'does', 'not', 'exist') });
    expect(offWords(s.disabled)).toMatch(/cannot create or read .*ENOENT/);
  });

  test('a directory replaced by a symlink after opening is not written through', () => {
    const s = openFresh();
    const dir = s.dir as string;
    const target = path.join(base, 'elsewhere');
    fs.mkdirSync(target, { mode: 0o700 });
    fs.rmSync(dir, { recursive: true });
    fs.symlinkSync(target, dir);
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(false);
    expect(s.lock(CANARY, IAM, NOW)).toBeUndefined();
    expect(fs.readdirSync(target)).toEqual([]);
  });
});

describe('KEY_SYNC_TOKEN_CACHE', () => {
  test('off: disabled, no directory created, every call misses', () => {
    const s = openFresh({ KEY_SYNC_TOKEN_CACHE: 'off' });
    expect(offWords(s.disabled)).toMatch(/KEY_SYNC_TOKEN_CACHE=off/);
    expect(s.dir).toBeUndefined();
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(false);
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    expect(s.lock(CANARY, IAM, NOW)).toBeUndefined();
    expect(fs.readdirSync(base)).toEqual([]);
  });

  test('an unknown value turns it off too, and says how to fix it', () => {
    const s = openFresh({ KEY_SYNC_TOKEN_CACHE: 'maybe' });
    expect(offWords(s.disabled)).toMatch(/"maybe".*KEY_SYNC_TOKEN_CACHE=on or off/);
    expect(fs.readdirSync(base)).toEqual([]);
  });
});

describe('entries', () => {
  test('put then get: 0600, named by the entry id, holding only the id, the token and its expiry', () => {
    const s = openFresh();
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(true);
    expect(s.get(CANARY, IAM, NOW)).toEqual(TOKEN);
    const dir = s.dir as string;
    expect(fs.readdirSync(dir)).toEqual([`${entryId(CANARY, IAM)}.token`]);
    const file = path.join(dir, `${entryId(CANARY, IAM)}.token`);
    expect(fs.lstatSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8'))).sort()).toEqual(['accessToken', 'expiresAt', 'id', 'v']);
  });

  test('a second store (another process) reads what the first wrote', () => {
    openFresh().put(CANARY, IAM, TOKEN, NOW);
    expect(openFresh().get(CANARY, IAM, NOW + 1000)).toEqual(TOKEN);
  });

  test('another API key or another IAM endpoint never gets the entry', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    expect(s.get(OTHER_KEY, IAM, NOW)).toBeUndefined();
    expect(s.get(CANARY, 'https://private.iam.cloud.ibm.com', NOW)).toBeUndefined();
    expect(s.get(CANARY, `${IAM}/`, NOW)).toBeUndefined();
  });

  test('an entry copied under another key\'s name is refused (its id does not match)', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    const dir = s.dir as string;
    fs.copyFileSync(path.join(dir, `${entryId(CANARY, IAM)}.token`), path.join(dir, `${entryId(OTHER_KEY, IAM)}.token`));
    expect(s.get(OTHER_KEY, IAM, NOW)).toBeUndefined();
    expect(s.peek(OTHER_KEY, IAM)).toEqual({ state: 'ignored', reason: expect.stringMatching(/does not match/) });
  });

  test('expiry: used while more than the margin is left, not after', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    expect(s.get(CANARY, IAM, TOKEN.expiresAt - DEFAULT_MARGIN_MS - 1)).toEqual(TOKEN);
    expect(s.get(CANARY, IAM, TOKEN.expiresAt - DEFAULT_MARGIN_MS)).toBeUndefined();
    expect(s.get(CANARY, IAM, TOKEN.expiresAt + 1)).toBeUndefined();
    // An expired entry is still there (peek), only not handed out; the next put replaces it.
    expect(s.peek(CANARY, IAM).state).toBe('found');
  });

  test('expiry: the margin can be set', () => {
    const s = openFresh({}, { marginMs: 10 * 60_000 });
    s.put(CANARY, IAM, TOKEN, NOW);
    expect(s.get(CANARY, IAM, TOKEN.expiresAt - 10 * 60_000 - 1)).toEqual(TOKEN);
    expect(s.get(CANARY, IAM, TOKEN.expiresAt - 10 * 60_000)).toBeUndefined();
  });

  test('a token that would be stale at once, or is not a header value, is not stored', () => {
    const s = openFresh();
    expect(s.put(CANARY, IAM, { accessToken: 'short-lived', expiresAt: NOW + DEFAULT_MARGIN_MS }, NOW)).toBe(false);
    expect(s.put(CANARY, IAM, { accessToken: 'has space', expiresAt: NOW + HOUR }, NOW)).toBe(false);
    expect(fs.readdirSync(s.dir as string)).toEqual([]);
  });

  test.each([
    ['junk', 'not json at all'],
    ['an empty file', ''],
    ['a truncated entry', entryText(entryId(CANARY, IAM), TOKEN).slice(0, 30)],
    ['an oversized file', 'x'.repeat(20_000)],
  ])('a corrupt entry (%s) is ignored, and the next put replaces it', (_what, text) => {
    const s = openFresh();
    const file = path.join(s.dir as string, `${entryId(CANARY, IAM)}.token`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    expect(s.peek(CANARY, IAM).state).toBe('ignored');
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(true);
    expect(s.get(CANARY, IAM, NOW)).toEqual(TOKEN);
  });

  test('an entry readable by others is ignored', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    const file = path.join(s.dir as string, `${entryId(CANARY, IAM)}.token`);
    fs.chmodSync(file, 0o644);
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    expect(s.peek(CANARY, IAM)).toEqual({ state: 'ignored', reason: expect.stringMatching(/readable by others/) });
  });

  (isRoot ? test : test.skip)('an entry owned by another user is ignored (needs root to chown)', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    fs.chownSync(path.join(s.dir as string, `${entryId(CANARY, IAM)}.token`), 4242, 4242);
    expect(s.peek(CANARY, IAM)).toEqual({ state: 'ignored', reason: expect.stringMatching(/owned by uid 4242/) });
  });
  if (!isRoot) console.log('token-store: skipping the chown test (it needs root to give a file to another user)');

  test('an entry that is a symlink is never followed; put replaces the link, not its target', () => {
    const s = openFresh();
    const dir = s.dir as string;
    // A valid entry elsewhere, linked in under the entry's name.
    const target = path.join(base, 'planted.token');
    fs.writeFileSync(target, entryText(entryId(CANARY, IAM), { accessToken: 'planted', expiresAt: NOW + HOUR }), { mode: 0o600 });
    const entry = path.join(dir, `${entryId(CANARY, IAM)}.token`);
    fs.symlinkSync(target, entry);
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    expect(s.peek(CANARY, IAM)).toEqual({ state: 'ignored', reason: expect.stringMatching(/symbolic link/) });
    expect(s.put(CANARY, IAM, TOKEN, NOW)).toBe(true);
    expect(fs.lstatSync(entry).isSymbolicLink()).toBe(false);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).accessToken).toBe('planted');
    expect(s.get(CANARY, IAM, NOW)).toEqual(TOKEN);
  });

  test('put is a rename of a complete temp file: no temp file is left, the old entry is replaced whole', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    const newer = { accessToken: 'newer-token', expiresAt: NOW + 2 * HOUR };
    const inode = fs.lstatSync(path.join(s.dir as string, `${entryId(CANARY, IAM)}.token`)).ino;
    expect(s.put(CANARY, IAM, newer, NOW)).toBe(true);
    expect(fs.readdirSync(s.dir as string)).toEqual([`${entryId(CANARY, IAM)}.token`]);
    // A new file took the name (rename), rather than the old one being rewritten in place.
    expect(fs.lstatSync(path.join(s.dir as string, `${entryId(CANARY, IAM)}.token`)).ino).not.toBe(inode);
    expect(s.get(CANARY, IAM, NOW)).toEqual(newer);
  });

  test('invalidate drops the entry; with a token, only if the entry still holds that token', () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    s.invalidate(CANARY, IAM, 'an-older-token');
    expect(s.get(CANARY, IAM, NOW)).toEqual(TOKEN);
    s.invalidate(CANARY, IAM, TOKEN.accessToken);
    expect(s.get(CANARY, IAM, NOW)).toBeUndefined();
    s.put(CANARY, IAM, TOKEN, NOW);
    s.invalidate(CANARY, IAM);
    expect(s.peek(CANARY, IAM).state).toBe('missing');
    expect(() => s.invalidate(CANARY, IAM)).not.toThrow();
  });

  test('no file in the store ever holds the API key (canary), whatever was done', async () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    const lease = s.lock(CANARY, IAM, NOW);
    expect(lease).toBeDefined();
    const during = everything(s.dir as string);
    lease?.release();
    s.invalidate(CANARY, IAM, 'x');
    await sharedToken(s, CANARY, 'https://iam.test.cloud.ibm.com', async () => ({ accessToken: 'from-exchange', expiresAt: NOW + HOUR }), { now: () => NOW, sleep: async () => undefined });
    const after = everything(s.dir as string);
    expect(after).toContain('from-exchange');
    for (const text of [during, after]) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(encodeURIComponent(CANARY));
    }
  });
});

describe('the exchange lock', () => {
  test('one holder at a time; released, it can be taken again', () => {
    const a = openFresh({}, { pid: 1001, isAlive: () => true });
    const b = openFresh({}, { pid: 1002, isAlive: () => true });
    const lease = a.lock(CANARY, IAM, NOW);
    expect(lease).toBeDefined();
    expect(b.lock(CANARY, IAM, NOW)).toBeUndefined();
    expect(b.locked(CANARY, IAM, NOW)).toBe(true);
    // Locks are per (API key, IAM endpoint).
    expect(b.lock(OTHER_KEY, IAM, NOW)).toBeDefined();
    lease?.release();
    expect(b.locked(CANARY, IAM, NOW)).toBe(false);
    expect(b.lock(CANARY, IAM, NOW)).toBeDefined();
  });

  test('a stale lock is taken over; the old holder\'s release then leaves the new lock alone', () => {
    const a = openFresh({}, { pid: 1001, isAlive: () => true, lockStaleMs: 30_000 });
    const b = openFresh({}, { pid: 1002, isAlive: () => true, lockStaleMs: 30_000 });
    const old = a.lock(CANARY, IAM, NOW);
    expect(b.lock(CANARY, IAM, NOW + 29_999)).toBeUndefined();
    const taken = b.lock(CANARY, IAM, NOW + 30_000);
    expect(taken).toBeDefined();
    old?.release();
    expect(a.locked(CANARY, IAM, NOW + 30_001)).toBe(true);
  });

  test('a dead holder\'s lock is taken over at once', () => {
    const a = openFresh({}, { pid: 1001 });
    const b = openFresh({}, { pid: 1002, isAlive: (pid) => pid !== 1001 });
    expect(a.lock(CANARY, IAM, NOW)).toBeDefined();
    expect(b.lock(CANARY, IAM, NOW + 1)).toBeDefined();
  });

  test('a lock file holds no secret and is 0600', () => {
    const s = openFresh();
    s.lock(CANARY, IAM, NOW);
    const file = path.join(s.dir as string, `${entryId(CANARY, IAM)}.lock`);
    expect(fs.lstatSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8'))).sort()).toEqual(['at', 'nonce', 'pid']);
  });
});

describe('sharedToken', () => {
  const exchanged = { accessToken: 'exchanged-token', expiresAt: NOW + HOUR, obtainedAt: NOW };

  /** A clock that moves only when slept. */
  function clock(onSleep: (t: number) => void = () => undefined): { now: () => number; sleep: (ms: number) => Promise<void>; slept: () => number } {
    let t = NOW;
    let total = 0;
    return {
      now: () => t,
      sleep: async (ms) => {
        t += ms;
        total += ms;
        onSleep(t);
      },
      slept: () => total,
    };
  }

  test('a fresh entry: no exchange', async () => {
    const s = openFresh();
    s.put(CANARY, IAM, TOKEN, NOW);
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, clock())).resolves.toEqual({ source: 'store', token: TOKEN });
    expect(exchange).not.toHaveBeenCalled();
  });

  test('no entry, no peer: exchanges once, stores the token, releases the lock', async () => {
    const s = openFresh();
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, clock())).resolves.toEqual({ source: 'exchange', token: exchanged });
    expect(exchange).toHaveBeenCalledTimes(1);
    expect(s.get(CANARY, IAM, NOW)).toEqual({ accessToken: exchanged.accessToken, expiresAt: exchanged.expiresAt });
    expect(s.locked(CANARY, IAM, NOW)).toBe(false);
  });

  test('a peer holds the lock: waits for its entry instead of exchanging', async () => {
    const peer = openFresh({}, { pid: 1001, isAlive: () => true });
    const s = openFresh({}, { pid: 1002, isAlive: () => true });
    const lease = peer.lock(CANARY, IAM, NOW);
    const c = clock((t) => {
      if (t >= NOW + 50) {
        peer.put(CANARY, IAM, TOKEN, t);
        lease?.release();
      }
    });
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, { ...c, pollMs: 10 })).resolves.toEqual({ source: 'peer', token: TOKEN });
    expect(exchange).not.toHaveBeenCalled();
    // Polls at 10, 30, 70 ms (the interval doubles, so a stuck peer costs little CPU).
    expect(c.slept()).toBe(70);
  });

  test('a peer that gives up without storing: exchanges at once, without queueing for the lock', async () => {
    const peer = openFresh({}, { pid: 1001, isAlive: () => true });
    const s = openFresh({}, { pid: 1002, isAlive: () => true });
    const lease = peer.lock(CANARY, IAM, NOW);
    const c = clock((t) => {
      if (t >= NOW + 20) lease?.release();
    });
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, { ...c, pollMs: 10 })).resolves.toEqual({ source: 'exchange', token: exchanged });
    expect(exchange).toHaveBeenCalledTimes(1);
    // Polls at 10 and 30 ms: the lock was gone at the second look.
    expect(c.slept()).toBe(30);
  });

  test('a peer that never finishes: waits at most waitMs, then exchanges', async () => {
    const peer = openFresh({}, { pid: 1001, isAlive: () => true });
    const s = openFresh({}, { pid: 1002, isAlive: () => true });
    peer.lock(CANARY, IAM, NOW);
    const c = clock();
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, { ...c, pollMs: 25, waitMs: 1000 })).resolves.toEqual({ source: 'exchange', token: exchanged });
    expect(c.slept()).toBe(1000);
  });

  test('an aborted signal stops the wait', async () => {
    const peer = openFresh({}, { pid: 1001, isAlive: () => true });
    const s = openFresh({}, { pid: 1002, isAlive: () => true });
    peer.lock(CANARY, IAM, NOW);
    const ac = new AbortController();
    const c = clock((t) => {
      if (t >= NOW + 30) ac.abort();
    });
    await sharedToken(s, CANARY, IAM, async () => exchanged, { ...c, pollMs: 10, signal: ac.signal });
    expect(c.slept()).toBe(30);
  });

  test('a failed exchange releases the lock and throws the exchange\'s error', async () => {
    const s = openFresh();
    const refused = new Error('IAM refused the API key');
    await expect(sharedToken(s, CANARY, IAM, async () => Promise.reject(refused), clock())).rejects.toBe(refused);
    expect(s.locked(CANARY, IAM, NOW)).toBe(false);
    expect(s.peek(CANARY, IAM).state).toBe('missing');
  });

  test('a disabled store: just exchanges', async () => {
    const s = openFresh({ KEY_SYNC_TOKEN_CACHE: 'off' });
    const exchange = jest.fn(async () => exchanged);
    await expect(sharedToken(s, CANARY, IAM, exchange, clock())).resolves.toEqual({ source: 'exchange', token: exchanged });
    await expect(sharedToken(s, CANARY, IAM, exchange, clock())).resolves.toEqual({ source: 'exchange', token: exchanged });
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  test('a token without an expiry (static) is not stored', async () => {
    const s = openFresh();
    await sharedToken(s, CANARY, IAM, async () => ({ accessToken: 'no-expiry' }), clock());
    expect(s.peek(CANARY, IAM).state).toBe('missing');
  });
});
