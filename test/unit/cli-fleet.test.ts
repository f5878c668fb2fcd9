/**
 * Fleet sync, pure parts: argument rules (repeated --key-id, --keys-file, --all-registered,
 * --concurrency), the keys-file format, the worst exit code, the JSON shape and the table.
 */
import { DEFAULT_CONCURRENCY, parseCommand, type Command } from '../../src/cli/parse-command';
import { parseKeysFile } from '../../src/cli/keys-file';
import { syncFleet, type FleetResult } from '../../src/cli/fleet-runner';
import { worstExitCode } from '../../src/cli/output/exit-codes';
import { fleetJson, fleetTable, type FleetContext } from '../../src/cli/output/fleet';
import type { KmsClient, SyncResult } from '../../src/client/kms-client';

const INST = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const ENV = { IBMCLOUD_API_KEY: 'CANARY-apikey-fleet-0123456789', IBMCLOUD_KP_API_ENDPOINT: 'http://127.0.0.1:1' };
const sync = (...rest: string[]): Command => parseCommand(['sync', '--instance-id', INST, ...rest], ENV);
const usage = (c: Command): string => (c.kind === 'usage-error' ? c.message : `not a usage error: ${c.kind}`);

describe('fleet arguments', () => {
  test('one --key-id stays a single sync (unchanged shape)', () => {
    expect(sync('--key-id', KEY).kind).toBe('sync');
  });
  test('repeated --key-id, --keys-file and --all-registered are fleet syncs with default concurrency', () => {
    const a = sync('--key-id', KEY, '--key-id', 'payments-root');
    expect(a).toMatchObject({ kind: 'fleet-sync', config: { keyIds: [KEY, 'payments-root'], allRegistered: false, concurrency: DEFAULT_CONCURRENCY, maxWaitSeconds: 900 } });
    expect(sync('--keys-file', 'k.txt', '--concurrency', '64')).toMatchObject({ kind: 'fleet-sync', config: { keyIds: [], keysFile: 'k.txt', concurrency: 64 } });
    expect(sync('--key-id', KEY, '--keys-file', 'k.txt')).toMatchObject({ kind: 'fleet-sync', config: { keyIds: [KEY], keysFile: 'k.txt' } });
    expect(sync('--all-registered', '--max-wait', '0')).toMatchObject({ kind: 'fleet-sync', config: { allRegistered: true, maxWaitSeconds: 0 } });
  });
  test.each<[string[], RegExp]>([
    [['--all-registered', '--key-id', KEY], /--all-registered syncs every key that has a registration; give it without --key-id/],
    [['--all-registered', '--keys-file', 'k'], /give it without --keys-file/],
    [['--key-id', KEY, '--key-id', 'bad key'], /--key-id "bad key" is neither/],
    [['--key-id', KEY, '--key-id', KEY, '--concurrency', '0'], /--concurrency "0" is not a whole number from 1 to 64/],
    [['--all-registered', '--concurrency', '65'], /--concurrency "65"/],
    [['--all-registered', '--concurrency', '2.5'], /--concurrency "2.5"/],
    [['--all-registered', '--verify-registrations'], /--verify-registrations checks one key/],
    [['--keys-file', ''], /--keys-file needs a file name/],
    [[], /--key-id is required.*--keys-file FILE, or --all-registered/],
  ])('usage error: %j', (args, re) => {
    expect(usage(sync(...args))).toMatch(re);
  });
});

describe('keys file', () => {
  test('comments, blanks, CRLF, surrounding blanks; duplicates kept once', () => {
    expect(parseKeysFile(`# fleet\r\n${KEY}\r\n\r\n  payments-root   # the ledger\n\t\n${KEY}\n`, 'k.txt')).toEqual({ ok: true, keys: [KEY, 'payments-root'], duplicates: 1 });
  });
  test.each<[string, RegExp]>([
    [`${KEY}\n\nnot a key\n`, /^--keys-file k\.txt line 3: "not a key" is neither a key UUID nor a valid alias; use .*\(one key per line, # for comments\)$/],
    [`${KEY}\nkeys\n`, /line 2: "keys" is a word the key service reserves/],
    ['# nothing\n\n', /--keys-file k\.txt lists no keys/],
    ['', /lists no keys/],
  ])('bad file %j', (text, re) => {
    const r = parseKeysFile(text, 'k.txt');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.message).toMatch(re);
  });
});

describe('outcomes', () => {
  test.each<[number[], number]>([
    [[], 0], [[0, 0], 0], [[0, 75, 0], 75], [[75, 1, 0], 1], [[1, 75], 1],
  ])('worst of %j is %d', (codes, worst) => {
    expect(worstExitCode(codes)).toBe(worst);
  });

  const base = { attempts: 1, iamAttempts: 1, waitedMs: 0, maxWaitSeconds: 900, phase: 'done' as const };
  const synced: SyncResult = { ...base, outcome: 'synced', status: 204, correlationId: 'c-1', retryLater: false };
  const gated: SyncResult = { ...base, outcome: 'gated', status: 409, correlationId: 'c-2', retryLater: true, code: 'KS_GATED', gate: { notBefore: new Date('2026-11-28T12:00:00Z'), opensInMs: 30 * 60_000, clockSkewMs: 0 } };
  const missing: SyncResult = {
    ...base, outcome: 'failed', status: 404, correlationId: 'c-3', retryLater: false, code: 'KS_NOT_FOUND',
    failure: { kind: 'refused', service: 'key-service', endpoint: 'https://kms.example', status: 404, afterTokenRefresh: false, staticToken: false },
  };
  const context: FleetContext = { instanceId: INST, credentialEnv: 'IBMCLOUD_API_KEY', extraCaCerts: false };
  const result: FleetResult = {
    keys: [{ keyId: 'k1', result: synced }, { keyId: 'k2', result: gated }, { keyId: 'k3', result: missing }],
    counts: { total: 3, done: 3, synced: 1, gated: 1, failed: 1, waitingForGate: 0, backoffs: 0 },
    exitCode: 1,
    elapsedMs: 1234,
  };

  test('JSON: outcome, counts, and per-key objects as a single sync prints them', () => {
    const j = fleetJson(result, context, { source: 'key-id', concurrency: 8 });
    expect(j).toMatchObject({ outcome: 'failed', instanceId: INST, source: 'key-id', concurrency: 8, counts: { total: 3, synced: 1, gated: 1, failed: 1 }, exitCode: 1, elapsedMs: 1234 });
    const keys = j['keys'] as Record<string, unknown>[];
    expect(keys.map((k) => [k['keyId'], k['outcome'], k['exitCode']])).toEqual([['k1', 'synced', 0], ['k2', 'gated', 75], ['k3', 'failed', 1]]);
    expect(keys[1]).toMatchObject({ notBefore: '2026-11-28T12:00:00.000Z', code: 'KS_GATED', instanceId: INST });
  });

  test('table: one row per key with the gate time or the reason, then a summary', () => {
    const t = fleetTable(result, context);
    const lines = t.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KEY\s+OUTCOME\s+HTTP\s+DETAIL$/);
    expect(lines[1]).toMatch(/^k1\s+synced\s+204\s+correlation id c-1$/);
    expect(lines[2]).toMatch(/^k2\s+gated\s+409\s+gate opens 2026-11-28 12:00:00 UTC \(in 30 min\); retry later$/);
    // The reason is worded by the output layer from the typed failure.
    expect(lines[3]).toMatch(/^k3\s+failed\s+404\s+KS_NOT_FOUND: key k3 was not found in instance \S+ \(404\); check --key-id.* \[correlation id c-3\]$/);
    expect(lines[4]).toBe(`key-sync: 3 keys of instance ${INST}: 1 synced, 1 gated, 1 failed in 1.2 s (exit 1)`);
  });
});

describe('syncFleet scheduling (fake client)', () => {
  // A fake client: gated keys report a gate wait, then are accepted after `gateMs`.
  function fakeClient(gated: ReadonlySet<string>, gateMs: number, log: string[]): Pick<KmsClient, 'sync'> {
    return {
      sync: async (keyId, opts) => {
        log.push(`start ${keyId}`);
        if (gated.has(keyId)) {
          opts.onProgress?.({ kind: 'gate-wait', gate: 'sync', notBefore: new Date(), opensInMs: gateMs, clockSkewMs: 0, remainingMs: gateMs, maxWaitLeftMs: 1e6, first: true });
          await new Promise((r) => setTimeout(r, gateMs));
        } else {
          await new Promise((r) => setTimeout(r, 5));
        }
        if (keyId === 'boom') throw new Error('bug');
        return { outcome: 'synced', status: 204, correlationId: `c-${keyId}`, attempts: 1, iamAttempts: 0, waitedMs: 0, maxWaitSeconds: 900, retryLater: false, phase: 'done' };
      },
    };
  }

  test('gated keys wait side by side and hand their worker back', async () => {
    const keys = ['g1', 'g2', 'g3', 'g4', 'g5', 'a', 'b'];
    const log: string[] = [];
    const t0 = Date.now();
    const r = await syncFleet(fakeClient(new Set(['g1', 'g2', 'g3', 'g4', 'g5']), 200, log) as never, keys, { instanceId: INST, maxWaitSeconds: 900, concurrency: 1 }, Date.now);
    const ms = Date.now() - t0;
    expect(r.counts).toMatchObject({ total: 7, synced: 7, waitingForGate: 0 });
    expect(r.exitCode).toBe(0);
    // Five 200 ms gate waits with one worker: together, not one after the other (1 s).
    expect(ms).toBeLessThan(600);
    // Every key was started before the first gate opened.
    expect(log.slice(0, 7)).toEqual(keys.map((k) => `start ${k}`));
  });

  test('a key that throws is failed; the others go on', async () => {
    const r = await syncFleet(fakeClient(new Set(), 0, []) as never, ['a', 'boom', 'b'], { instanceId: INST, maxWaitSeconds: 0, concurrency: 2 }, Date.now);
    expect(r.keys.map((k) => k.result.outcome)).toEqual(['synced', 'failed', 'synced']);
    expect(r.exitCode).toBe(1);
  });

  test('interrupted: keys not started are reported as not started (exit 75)', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await syncFleet(fakeClient(new Set(), 0, []) as never, ['a', 'b'], { instanceId: INST, maxWaitSeconds: 0, concurrency: 2, signal: ac.signal }, Date.now);
    expect(r.keys.map((k) => k.result.code)).toEqual(['KS_ABORTED', 'KS_ABORTED']);
    expect(r.exitCode).toBe(75);
  });
});
