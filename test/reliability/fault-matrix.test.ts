/**
 * The fault matrix: every fault the network and the API can produce, for the
 * sync, the IAM exchange and the registrations listing, run through the real CLI
 * (dist/key-sync.cjs, a child process) against the emulator over real HTTP. One row per
 * case; the table below IS the test. Each row: its own emulator on 127.0.0.1:0, a random
 * canary API key (or static canary token) that must not appear in stdout, stderr or the
 * emulator's request log, the exit code, the stable error code, how many requests reached
 * the route (no tight loops, nothing retried that must not be), and the time spent.
 *
 * Waits are scaled (KEY_SYNC_TIME_SCALE=0.001: the 2-minute retry budget is 120 ms, an
 * hour's gate 3.6 s); per-attempt timeouts are 400 ms real where the timeout is the
 * point of the row, 3 s elsewhere. The matrix is printed at the
 * end of the run.
 */
import type { Fault, RouteName, RunningEmulator } from '../../src/emulator/server';
import { closedPort } from '../helpers/cli';
import { KP_INSTANCE, KP_KEY, jsonOf, runCli, runLeaks, startCanary, env, table, type Creds } from './harness';

type Target = 'sync' | 'registrations' | 'iam';

interface Row {
  readonly target: Target;
  readonly fault: string;
  readonly faults?: readonly Fault[];
  /** The target's endpoint is a loopback port with nothing listening. */
  readonly refused?: boolean;
  /** Close the real sync gate before the run. */
  readonly gate?: boolean;
  /** Move the emulator clock by this much when the CLI says it waits for the gate. */
  readonly advanceOnWait?: number;
  readonly tokenTtlSeconds?: number;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly exit: 0 | 1 | 75;
  /** Stable error code (`code` in --json), none when it succeeded. */
  readonly code?: string;
  /** Requests that reached the target's route: exact, or [min, max]. */
  readonly requests: number | readonly [number, number];
  /** Exact request counts on other routes (with the API key; a static token makes no IAM request). */
  readonly also?: Partial<Record<RouteName, number>>;
  /** Only with this credential kind (default: both for sync and registrations). */
  readonly only?: Creds;
  /** Scaled (virtual) time the CLI may wait at most, ms. Default: the 2-minute budget. */
  readonly maxWaitedMs?: number;
}

const ROUTE: Record<Target, RouteName> = { sync: 'keys.sync', registrations: 'registrations.key', iam: 'iam.token' };
const ALWAYS = 1000;
/** Rows whose point is the per-attempt timeout run it at 400 ms; the rest at 3 s (no load flakes). */
const FAST = { env: { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '400' } } as const;
const kmsBody = (code: string | undefined, message: string): object => ({
  metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 },
  resources: [{ errorMsg: `Conflict: ${message}`, ...(code === undefined ? {} : { reasons: [{ code, message, status: 409, moreInfo: 'https://cloud.ibm.com/apidocs/key-protect' }] }) }],
});
const gateBody = (when: string): object => kmsBody('REQ_TOO_EARLY_ERR', `Sync cannot be performed until at least ${when}`);
const httpDateIn = (ms: number): string => new Date(Date.now() + ms).toUTCString();

/** Faults every target shares: the transport and the transient statuses. */
function transportRows(target: Target): Row[] {
  const exhausted = (code: string): Pick<Row, 'exit' | 'code' | 'requests'> => ({ exit: 75, code, requests: 5 });
  return [
    { target, fault: 'connection refused', refused: true, ...exhausted('KS_NETWORK') },
    { target, fault: 'reset before headers, always', faults: [{ reset: 'before-headers', times: ALWAYS }], ...exhausted('KS_NETWORK') },
    { target, fault: 'reset mid-response (503), always', faults: [{ status: 503, reset: 'mid-body', times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: 'reset mid-response, once', faults: target === 'sync' ? [{ status: 503, reset: 'mid-body' }] : [{ reset: 'mid-body' }], exit: 0, requests: 2 },
    { target, fault: 'accept, never answer, always', ...FAST, faults: [{ hang: true, times: ALWAYS }], ...exhausted('KS_TIMEOUT') },
    { target, fault: 'accept, never answer, once', env: { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '1000' }, faults: [{ hang: true }], exit: 0, requests: 2 },
    { target, fault: '503 body trickles past the attempt timeout, always', ...FAST, faults: [{ status: 503, trickleMs: 300, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: 'slow trickling body that completes', env: { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '10000' }, faults: target === 'sync' ? [{ status: 503, trickleMs: 1 }] : [{ trickleMs: 1 }], exit: 0, requests: target === 'sync' ? 2 : 1 },
    { target, fault: '408, always', faults: [{ status: 408, times: ALWAYS }], ...exhausted('KS_TIMEOUT') },
    { target, fault: '429 Retry-After: 2 (seconds), always', faults: [{ status: 429, headers: { 'Retry-After': '2' }, times: ALWAYS }], ...exhausted('KS_THROTTLED') },
    { target, fault: '429 Retry-After: HTTP-date +3 s, once', faults: [{ status: 429, headers: { 'Retry-After': httpDateIn(3000) } }], exit: 0, requests: 2 },
    { target, fault: '429 Retry-After: HTTP-date, always', faults: [{ status: 429, headers: { 'Retry-After': httpDateIn(3000) }, times: ALWAYS }], ...exhausted('KS_THROTTLED') },
    { target, fault: '429 Retry-After: garbage, always', faults: [{ status: 429, headers: { 'Retry-After': 'soon, maybe' }, times: ALWAYS }], ...exhausted('KS_THROTTLED') },
    { target, fault: '429 Retry-After: 0, always', faults: [{ status: 429, headers: { 'Retry-After': '0' }, times: ALWAYS }], ...exhausted('KS_THROTTLED') },
    { target, fault: '429 Retry-After: 3600 (past the budget)', faults: [{ status: 429, headers: { 'Retry-After': '3600' }, times: ALWAYS }], exit: 75, code: 'KS_THROTTLED', requests: 1 },
    // Monotonic: longer than a year is not "garbage, retry at once" but past the budget too.
    { target, fault: '429 Retry-After: 99999999999 (beyond a year)', faults: [{ status: 429, headers: { 'Retry-After': '99999999999' }, times: ALWAYS }], exit: 75, code: 'KS_THROTTLED', requests: 1 },
    { target, fault: '503 Retry-After: HTTP-date in 2099', faults: [{ status: 503, headers: { 'Retry-After': 'Thu, 01 Jan 2099 00:00:00 GMT' }, times: ALWAYS }], exit: 75, code: 'KS_HTTP_5XX', requests: 1 },
    { target, fault: '500, always', faults: [{ status: 500, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: '502 HTML body, always', faults: [{ status: 502, htmlBody: true, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: '503, always', faults: [{ status: 503, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: '503, twice, then OK', faults: [{ status: 503, times: 2 }], exit: 0, requests: 3 },
    { target, fault: '504, always', faults: [{ status: 504, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: '503 empty body, always', faults: [{ status: 503, body: '', times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
    { target, fault: '503 oversized body (8 MiB), always', faults: [{ status: 503, oversizeBytes: 8 * 1024 * 1024, times: ALWAYS }], ...exhausted('KS_HTTP_5XX') },
  ];
}

const ROWS: readonly Row[] = [
  // ---------------------------------------------------------------- the sync
  ...transportRows('sync'),
  { target: 'sync', fault: '501', faults: [{ status: 501, times: ALWAYS }], exit: 1, code: 'KS_NOT_IMPLEMENTED', requests: 1 },
  { target: 'sync', fault: '409 empty body', faults: [{ status: 409, body: '', times: ALWAYS }], exit: 1, code: 'KS_CONFLICT', requests: 1 },
  { target: 'sync', fault: '409 without reasons', faults: [{ status: 409, body: kmsBody(undefined, 'Conflict'), times: ALWAYS }], exit: 1, code: 'KS_CONFLICT', requests: 1 },
  { target: 'sync', fault: '409 other reason (KEY_ACTION_INVALID_STATE_ERR)', faults: [{ status: 409, times: ALWAYS }], exit: 1, code: 'KS_CONFLICT', requests: 1 },
  { target: 'sync', fault: '409 gate, truncated JSON body, once', gate: true, faults: [{ truncateJson: true }], exit: 75, code: 'KS_GATED', requests: 2 },
  { target: 'sync', fault: '409 truncated JSON, no reason code, always', faults: [{ status: 409, body: '{"metadata":{"collectionType":"application/vnd.ibm.kms.error+json","collectionTotal":1},"resources":[{"errorMsg":"Conf', times: ALWAYS }], exit: 75, code: 'KS_NETWORK', requests: 5 },
  { target: 'sync', fault: '409 gate, time in the past, once', faults: [{ status: 409, body: gateBody('2020-01-01T00:00:00Z') }], exit: 0, requests: 2, maxWaitedMs: 900_000 },
  { target: 'sync', fault: '409 gate, time in the past, always', faults: [{ status: 409, body: gateBody('2020-01-01T00:00:00Z'), times: ALWAYS }], exit: 75, code: 'KS_GATED', requests: [10, 25], maxWaitedMs: 900_000 },
  { target: 'sync', fault: '409 gate, far future (2099)', faults: [{ status: 409, body: gateBody('2099-01-01T00:00:00Z'), times: ALWAYS }], exit: 75, code: 'KS_GATED', requests: 1, maxWaitedMs: 0 },
  { target: 'sync', fault: '409 gate, unparseable time', faults: [{ status: 409, body: gateBody('tomorrow-ish'), times: ALWAYS }], exit: 75, code: 'KS_GATED', requests: 1, maxWaitedMs: 0 },
  { target: 'sync', fault: '409 gate, unparseable time, --max-wait 3700', args: ['--max-wait', '3700'], faults: [{ status: 409, body: gateBody('tomorrow-ish') }], exit: 0, requests: 2, also: { 'iam.token': 2 }, maxWaitedMs: 3_700_000 },
  // The service acted and the connection dropped before its answer: the retry's gate, started as the lost request went out, shows it was accepted.
  { target: 'sync', fault: 'reset after the service accepted, once', faults: [{ reset: 'after-handler' }], exit: 0, requests: 2 },
  { target: 'sync', fault: 'reset after the service acted, always (no answer ever seen)', faults: [{ reset: 'after-handler', times: ALWAYS }], exit: 75, code: 'KS_NETWORK', requests: 5 },
  { target: 'sync', fault: '200 with an oversized body (8 MiB)', faults: [{ status: 200, oversizeBytes: 8 * 1024 * 1024 }], exit: 0, requests: 1 },
  { target: 'sync', fault: '200 whose body trickles forever', faults: [{ status: 200, body: 'x'.repeat(8192), trickleMs: 300 }], exit: 0, requests: 1 },
  { target: 'sync', fault: 'token expires during an hour-long gate wait', only: 'apikey', gate: true, tokenTtlSeconds: 600, advanceOnWait: 3_601_000, args: ['--max-wait', '3700'], exit: 0, requests: 2, also: { 'iam.token': 2 }, maxWaitedMs: 3_700_000 },
  { target: 'sync', fault: '401 once: token refreshed, then OK', only: 'apikey', faults: [{ status: 401 }], exit: 0, requests: 2, also: { 'iam.token': 2 } },
  { target: 'sync', fault: '401 after a refresh', only: 'apikey', faults: [{ status: 401, times: ALWAYS }], exit: 1, code: 'KS_AUTH', requests: 2, also: { 'iam.token': 2 } },
  { target: 'sync', fault: '401 with a static token (no refresh)', only: 'token', faults: [{ status: 401, times: ALWAYS }], exit: 1, code: 'KS_AUTH', requests: 1 },

  // ---------------------------------------------------------------- registrations
  ...transportRows('registrations'),
  { target: 'registrations', fault: '200 body trickles past the attempt timeout, always', ...FAST, faults: [{ trickleMs: 300, times: ALWAYS }], exit: 75, code: 'KS_TIMEOUT', requests: 5 },
  { target: 'registrations', fault: '501', faults: [{ status: 501, times: ALWAYS }], exit: 1, code: 'KS_NOT_IMPLEMENTED', requests: 1 },
  { target: 'registrations', fault: '200 empty body', faults: [{ status: 200, body: '', times: ALWAYS }], exit: 1, code: 'KS_BAD_RESPONSE', requests: 1 },
  { target: 'registrations', fault: '200 truncated JSON', faults: [{ truncateJson: true, times: ALWAYS }], exit: 1, code: 'KS_BAD_RESPONSE', requests: 1 },
  // Past the cap the same request gets the same answer: not retried (was: retried, 5 x 32 MiB read).
  { target: 'registrations', fault: '200 oversized body (40 MiB > 32 MiB cap), once', faults: [{ status: 200, oversizeBytes: 40 * 1024 * 1024 }], exit: 1, code: 'KS_BAD_RESPONSE', requests: 1 },
  { target: 'registrations', fault: '409 without reasons', faults: [{ status: 409, body: kmsBody(undefined, 'Conflict'), times: ALWAYS }], exit: 1, code: 'KS_CONFLICT', requests: 1 },
  { target: 'registrations', fault: '409 REQ_TOO_EARLY_ERR (no gate on a listing)', faults: [{ status: 409, body: gateBody('2099-01-01T00:00:00Z'), times: ALWAYS }], exit: 1, code: 'KS_CONFLICT', requests: 1 },
  { target: 'registrations', fault: '401 after a refresh', only: 'apikey', faults: [{ status: 401, times: ALWAYS }], exit: 1, code: 'KS_AUTH', requests: 2, also: { 'iam.token': 2 } },
  { target: 'registrations', fault: '401 with a static token (no refresh)', only: 'token', faults: [{ status: 401, times: ALWAYS }], exit: 1, code: 'KS_AUTH', requests: 1 },

  // ---------------------------------------------------------------- the IAM exchange
  ...transportRows('iam'),
  { target: 'iam', fault: '200 body trickles past the attempt timeout, always', ...FAST, faults: [{ trickleMs: 300, times: ALWAYS }], exit: 75, code: 'KS_TIMEOUT', requests: 5 },
  { target: 'iam', fault: '501', faults: [{ status: 501, times: ALWAYS }], exit: 1, code: 'KS_IAM_REFUSED', requests: 1 },
  { target: 'iam', fault: '400 unknown API key', faults: [{ status: 400, times: ALWAYS }], exit: 1, code: 'KS_IAM_REFUSED', requests: 1 },
  { target: 'iam', fault: '401', faults: [{ status: 401, times: ALWAYS }], exit: 1, code: 'KS_IAM_REFUSED', requests: 1 },
  { target: 'iam', fault: '409 without reasons', faults: [{ status: 409, body: {}, times: ALWAYS }], exit: 1, code: 'KS_IAM_REFUSED', requests: 1 },
  { target: 'iam', fault: '200 empty body', faults: [{ status: 200, body: '', times: ALWAYS }], exit: 1, code: 'KS_IAM_BAD_RESPONSE', requests: 1 },
  { target: 'iam', fault: '200 truncated JSON', faults: [{ truncateJson: true, times: ALWAYS }], exit: 1, code: 'KS_IAM_BAD_RESPONSE', requests: 1 },
  { target: 'iam', fault: '200 oversized body (1 MiB, no token)', faults: [{ status: 200, oversizeBytes: 1024 * 1024, times: ALWAYS }], exit: 1, code: 'KS_IAM_BAD_RESPONSE', requests: 1 },
];

/** Rows expanded by credential kind: sync and registrations with both, IAM with the API key. */
const CASES: readonly (Row & { readonly creds: Creds })[] = ROWS.flatMap((r) => {
  const kinds: Creds[] = r.target === 'iam' ? ['apikey'] : r.only !== undefined ? [r.only] : ['apikey', 'token'];
  return kinds.map((creds) => ({ ...r, creds }));
});

interface Result {
  readonly row: Row & { readonly creds: Creds };
  readonly exit: number | null;
  readonly code: string;
  readonly requests: number;
  readonly waitedMs: number;
  readonly realMs: number;
  readonly ok: boolean;
}
const results: Result[] = [];

function expected(n: Row['requests']): string {
  return typeof n === 'number' ? String(n) : `${n[0]}-${n[1]}`;
}

async function runCase(row: Row & { readonly creds: Creds }): Promise<void> {
  const emu: RunningEmulator = await startCanary(row.tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds: row.tokenTtlSeconds });
  try {
    const route = ROUTE[row.target];
    if (row.gate === true) {
      const key = emu.state.findKey(KP_INSTANCE, KP_KEY);
      if (key === undefined) throw new Error('seed key missing');
      expect(emu.state.sync(key, emu.clock.now()).ok).toBe(true);
    }
    if (row.faults !== undefined) emu.injectFaults(route, row.faults);
    const dead = row.refused === true ? `http://127.0.0.1:${await closedPort()}` : undefined;
    const urls = { kms: row.target !== 'iam' && dead !== undefined ? dead : emu.url, iam: row.target === 'iam' && dead !== undefined ? dead : emu.url };
    const args = row.target === 'registrations'
      ? ['registrations', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json']
      : ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json', ...(row.args ?? [])];
    let advanced = false;
    const run = await runCli(args, env(row.creds, urls, { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '3000', ...row.env }), {
      timeoutMs: 25_000,
      onStderr: (all) => {
        if (row.advanceOnWait !== undefined && !advanced && all.includes('sync time gate closed until')) {
          advanced = true;
          emu.clock.advance(row.advanceOnWait);
        }
      },
    });
    // Let the emulator log the exchanges the CLI dropped when it exited.
    // (an exchange is logged when its socket closes; under load that can take a moment).
    // A trickling answer only notices the closed socket at its next write, so those rows
    // wait past a few trickle ticks.
    const trickle = Math.max(0, ...(row.faults ?? []).map((f) => f.trickleMs ?? 0));
    const settleMs = Math.max(60, trickle);
    for (let last = -1, same = 0; same < 3; ) {
      await new Promise((r) => setTimeout(r, settleMs));
      const n = emu.log().length;
      same = n === last ? same + 1 : 0;
      last = n;
    }
    const j = jsonOf(run);
    // Requests that reached the route; with nothing listening, the attempts the CLI made
    // (its retry lines plus the first attempt).
    const requests = dead !== undefined
      ? (run.stderr.match(/\(attempt \d+ of \d+\); trying again in /g) ?? []).length + 1
      : emu.log().filter((e) => e.route === route).length;
    const waitedMs = typeof j?.['waitedMs'] === 'number' ? j['waitedMs'] : 0;
    const code = typeof j?.['code'] === 'string' ? j['code'] : '';
    const [lo, hi] = typeof row.requests === 'number' ? [row.requests, row.requests] : row.requests;
    const other: Partial<Record<RouteName, number>> = {
      ...(row.target === 'iam' ? { 'keys.sync': row.exit === 0 ? 1 : 0 } : { 'iam.token': row.creds === 'token' ? 0 : 1 }),
      ...(row.creds === 'apikey' ? row.also : {}),
    };
    const seen = Object.fromEntries(Object.keys(other).map((r) => [r, emu.log().filter((e) => e.route === r).length]));
    const result: Result = {
      row,
      exit: run.code,
      code,
      requests,
      waitedMs,
      realMs: run.ms,
      ok: false,
    };
    results.push(result);
    expect({ exit: run.code, code, stdoutIsOneJsonObject: j !== undefined }).toEqual({ exit: row.exit, code: row.code ?? '', stdoutIsOneJsonObject: true });
    expect({ requests, inBounds: requests >= lo && requests <= hi }).toEqual({ requests, inBounds: true });
    expect(seen).toEqual(other);
    expect(runLeaks(run, emu)).toEqual([]);
    // The deadline: waits stay inside the retry budget (or --max-wait for gate waits), and
    // the run itself is quick (attempt timeouts of 400 ms, waits scaled).
    expect(waitedMs).toBeLessThanOrEqual(row.maxWaitedMs ?? 120_000);
    expect(run.ms).toBeLessThan(15_000);
    if (row.exit !== 0) expect(String(j?.['message'] ?? '')).not.toBe('');
    results[results.indexOf(result)] = { ...result, ok: true };
  } finally {
    await emu.close();
  }
}

test.concurrent.each(CASES.map((c) => [`${c.target} | ${c.creds} | ${c.fault}`, c] as const))('%s', async (_name, row) => {
  await runCase(row);
}, 40_000);

afterAll(() => {
  const order = new Map(CASES.map((c, i) => [c, i]));
  const rows = [...results].sort((a, b) => (order.get(a.row) ?? 0) - (order.get(b.row) ?? 0)).map((r) => [
    r.row.target,
    r.row.creds,
    r.row.fault,
    `${String(r.exit)}${r.exit === r.row.exit ? '' : ` (want ${r.row.exit})`}`,
    r.code || '-',
    `${r.requests}${r.requests >= (typeof r.row.requests === 'number' ? r.row.requests : r.row.requests[0]) && r.requests <= (typeof r.row.requests === 'number' ? r.row.requests : r.row.requests[1]) ? '' : ` (want ${expected(r.row.requests)})`}`,
    r.row.target === 'registrations' ? '-' : `${(r.waitedMs / 1000).toFixed(1)} s`,
    `${r.realMs} ms`,
    r.ok ? 'ok' : 'FAIL',
  ]);
  const text = table(['target', 'creds', 'fault', 'exit', 'code', 'requests', 'waited (virtual)', 'real', ''], rows);
  // eslint-disable-next-line no-console
  console.log(`Fault matrix: ${CASES.length} cases (${results.filter((r) => r.ok).length} ok)\n${text}`);
});
