/**
 * KmsClient in-process against the emulator, with its clock and sleep injected: the
 * client's "sleep" moves the emulator clock, so hour-long gate waits and token expiry run
 * in milliseconds with no real timers.
 */
import { Agent } from 'undici';
import { KmsClient, type ProgressEvent } from '../../src/client/kms-client';
import type { RunningEmulator } from '../../src/emulator/server';
import { CANARY_API_KEY, KP_INSTANCE, KP_KEY, requests, startCanaryEmulator } from '../helpers/cli';

import { syncMessage } from '../../src/cli/output/sync';
import { registrationsMessage } from '../../src/cli/output/registrations';
import type { RegistrationsResult, SyncResult } from '../../src/client/kms-client';

/** The sentence the CLI prints for a result (the client returns typed values only). */
function messageOf(r: SyncResult | RegistrationsResult): string {
  const who = { instanceId: KP_INSTANCE, credentialEnv: 'IBMCLOUD_API_KEY', extraCaCerts: false };
  return 'registrations' in r ? registrationsMessage(r, { ...who, keyId: KP_KEY }) : syncMessage(r, { ...who, keyId: KP_KEY });
}

const T0 = Date.parse('2026-11-28T20:00:00Z');
let emu: RunningEmulator | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.close();
  await emu?.close();
  agent = undefined;
  emu = undefined;
});

async function setup(opts: { gateSeconds?: number; tokenTtlSeconds?: number; attemptTimeoutMs?: number } = {}): Promise<KmsClient> {
  const { attemptTimeoutMs, ...emuOpts } = opts;
  const e = await startCanaryEmulator({ now: T0, ...emuOpts });
  emu = e;
  agent = new Agent({ keepAliveTimeout: 1000 });
  return new KmsClient({
    baseUrl: e.url,
    credentials: { kind: 'api-key', apiKey: CANARY_API_KEY, iamBaseUrl: e.url, envName: 'IBMCLOUD_API_KEY' },
    dispatcher: agent,
    now: () => e.clock.now(),
    sleep: async (ms, signal) => {
      if (signal?.aborted === true) throw new Error('aborted');
      e.clock.advance(ms);
    },
    random: () => 0.5,
    randomUUID: () => '11111111-2222-4333-8444-555555555555',
    limits: { attemptTimeoutMs: attemptTimeoutMs ?? 5000 },
  });
}

function em(): RunningEmulator {
  if (emu === undefined) throw new Error('no emulator');
  return emu;
}

function gateNow(): void {
  const emu = em();
  const key = emu.state.findKey(KP_INSTANCE, KP_KEY);
  if (key === undefined) throw new Error('seed key missing');
  expect(emu.state.sync(key, emu.clock.now()).ok).toBe(true);
}

test('a gate wait that outlasts the token: waits with progress, refreshes the token, then 204', async () => {
  const client = await setup({ tokenTtlSeconds: 600 });
  gateNow();
  const events: ProgressEvent[] = [];
  const r = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 3700, onProgress: (e) => events.push(e) });
  expect(r).toMatchObject({ outcome: 'synced', status: 204, attempts: 2, correlationId: '11111111-2222-4333-8444-555555555555', retryLater: false });
  expect(r.waitedMs).toBe(3605_000);
  expect(requests(em(), 'keys.sync').map((e) => e.status)).toEqual([409, 204]);
  expect(requests(em(), 'iam.token')).toHaveLength(2);
  const ticks = events.filter((e) => e.kind === 'gate-wait');
  expect(ticks.length).toBeGreaterThanOrEqual(3605 / 30);
  expect(ticks[0]).toMatchObject({ first: true, notBefore: new Date(T0 + 3600_000) });
});

test('gate beyond --max-wait: one request, gated, notBefore from the message', async () => {
  const client = await setup();
  gateNow();
  const r = await client.sync('payments-root', { instanceId: KP_INSTANCE, maxWaitSeconds: 900 });
  expect(r).toMatchObject({ outcome: 'gated', code: 'KS_GATED', status: 409, attempts: 1, gate: { notBefore: new Date(T0 + 3600_000) }, retryLater: true });
  expect(messageOf(r)).toContain('2026-11-28 21:00:00 UTC, in 1 h');
});

test('registrations: pages of 1 until totalCount, one correlation id', async () => {
  const client = await setup();
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'listed', pages: 2, totalCount: 2 });
  expect(r.registrations.map((g) => g.resourceCrn)).toHaveLength(2);
  const pages = requests(em(), 'registrations.key');
  expect(pages.map((p) => p.path)).toEqual([
    `/api/v2/keys/${KP_KEY}/registrations?limit=1&offset=0&totalCount=true`,
    `/api/v2/keys/${KP_KEY}/registrations?limit=1&offset=1&totalCount=true`,
  ]);
});

test('registrations: one retry budget for the whole listing, not a fresh one per page', async () => {
  const client = await setup();
  // Page 1 waits 2 x 50 s (Retry-After) and then lists; page 2's first answer asks for
  // another 50 s, which would take the listing's retrying past the 120 s budget.
  const busy = { status: 503, headers: { 'retry-after': '50' } };
  // (A fault with only extra headers lets the real handler answer: page 1's listing.)
  em().injectFaults('registrations.key', [{ ...busy, times: 2 }, { headers: { 'x-test': 'page-1-answers' } }, busy]);
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'failed', retryLater: true, pages: 1, waitedMs: 100_000 });
  expect(messageOf(r)).toMatch(/budget/);
  expect(requests(em(), 'registrations.key')).toHaveLength(4);
});

test('registrations: a page that retries within what the budget has left still lists', async () => {
  const client = await setup();
  em().injectFaults('registrations.key', [{ status: 503, headers: { 'retry-after': '50' }, times: 2 }]);
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'listed', pages: 2, waitedMs: 100_000 });
  expect(requests(em(), 'registrations.key')).toHaveLength(4);
});

/** The agent, advancing the emulator clock by `costMs` per registrations request (a slow answer in virtual time) and recording each request's timeout. */
class SlowListingAgent extends Agent {
  readonly timeouts: number[] = [];
  constructor(private readonly advance: (ms: number) => void, private readonly costMs: number) {
    super({ keepAliveTimeout: 1000 });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override request(opts: any, ...rest: any[]): any {
    if (String(opts.path).includes('/registrations')) {
      this.timeouts.push(opts.headersTimeout as number);
      this.advance(this.costMs);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (super.request as any)(opts, ...rest);
  }
}

async function setupSlow(costMs: number): Promise<{ client: KmsClient; slow: SlowListingAgent }> {
  const e = await startCanaryEmulator({ now: T0 });
  emu = e;
  const slow = new SlowListingAgent((ms) => e.clock.advance(ms), costMs);
  agent = slow;
  const client = new KmsClient({
    baseUrl: e.url,
    credentials: { kind: 'api-key', apiKey: CANARY_API_KEY, iamBaseUrl: e.url, envName: 'IBMCLOUD_API_KEY' },
    dispatcher: slow,
    now: () => e.clock.now(),
    sleep: async (ms) => {
      e.clock.advance(ms);
    },
    random: () => 0.5,
    limits: { attemptTimeoutMs: 5000 },
  });
  return { client, slow };
}

test('registrations: the time of failed attempts counts against the listing budget, not only the waits', async () => {
  // Every registrations request takes 50 s (virtual). Page 1: two 503s, then the list
  // (about 100 s of failed attempts plus the backoff). Page 2's first 503 ends at about
  // 153 s of retrying: past the 120 s budget, so no further retry.
  const { client } = await setupSlow(50_000);
  em().injectFaults('registrations.key', [{ status: 503, times: 2 }, { headers: { 'x-test': 'page-1-answers' } }, { status: 503 }]);
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'failed', retryLater: true, pages: 1 });
  expect(messageOf(r)).toMatch(/budget/);
  expect(requests(em(), 'registrations.key')).toHaveLength(4);
});

test('registrations: a healthy page after a nearly spent budget still gets the full per-attempt timeout', async () => {
  const { client, slow } = await setupSlow(0);
  // Page 1 waits 2 x 59 s: 118 s of the 120 s budget. Page 2 is healthy.
  em().injectFaults('registrations.key', [{ status: 503, headers: { 'retry-after': '59' }, times: 2 }]);
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'listed', pages: 2, waitedMs: 118_000 });
  // The retry on page 1 at 118 s is bounded by what the budget has left (2 s); page 2 is not.
  expect(slow.timeouts).toEqual([5000, 5000, 2000, 5000]);
});

test('an IAM refusal is remembered for 5 minutes, then asked again', async () => {
  const client = await setup();
  em().injectFaults('iam.token', [{ status: 400, times: 3 }]);
  const first = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(first).toMatchObject({ outcome: 'failed', code: 'KS_IAM_REFUSED', retryLater: false });
  em().clock.advance(299_000);
  const second = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(second).toMatchObject({ outcome: 'failed', code: 'KS_IAM_REFUSED' });
  expect(messageOf(second)).toBe(`${messageOf(first)} (the answer to an earlier request of this run; not asked again for 5 minutes)`);
  expect(requests(em(), 'iam.token')).toHaveLength(1);
  em().clock.advance(1_000);
  await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(requests(em(), 'iam.token')).toHaveLength(2);
});

test('one unusable IAM answer is not remembered: the next call asks IAM again', async () => {
  const client = await setup();
  em().injectFaults('iam.token', [{ status: 200, body: 'not json' }]);
  const first = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(first).toMatchObject({ outcome: 'failed', code: 'KS_IAM_BAD_RESPONSE' });
  const second = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(second).toMatchObject({ outcome: 'synced' });
  expect(requests(em(), 'iam.token')).toHaveLength(2);
});

test('registrations: a retry on a later page stays inside the budget (its timeout is cut to what is left)', async () => {
  const { client, slow } = await setupSlow(0);
  // Page 1 waits 2 x 59 s; page 2 answers 503 with Retry-After 1, so its retry starts at
  // 119 s of the 120 s budget: 1 s left.
  em().injectFaults('registrations.key', [
    { status: 503, headers: { 'retry-after': '59' }, times: 2 },
    { headers: { 'x-test': 'page-1-answers' } },
    { status: 503, headers: { 'retry-after': '1' } },
  ]);
  const r = await client.listRegistrations({ instanceId: KP_INSTANCE, keyId: KP_KEY, pageSize: 1 });
  expect(r).toMatchObject({ outcome: 'listed', pages: 2, waitedMs: 119_000 });
  expect(slow.timeouts).toEqual([5000, 5000, 2000, 5000, 1000]);
});

test('a hung attempt times out and is retried', async () => {
  const client = await setup({ attemptTimeoutMs: 300 });
  em().injectFaults('keys.sync', [{ hang: true }]);
  const r = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(r).toMatchObject({ outcome: 'synced', attempts: 2 });
});

test('a static token refused with 401 is not refreshed: one request, KS_AUTH', async () => {
  const e = await startCanaryEmulator({ now: T0 });
  emu = e;
  agent = new Agent();
  const client = new KmsClient({ baseUrl: e.url, credentials: { kind: 'token', token: 'not-a-valid-token-value', envName: 'IBMCLOUD_IAM_TOKEN' }, dispatcher: agent });
  const r = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
  expect(r).toMatchObject({ outcome: 'failed', code: 'KS_AUTH', status: 401, attempts: 1, retryLater: false });
  expect(messageOf(r)).not.toContain('not-a-valid-token-value');
});

test('abort during a backoff: KS_ABORTED, phase backoff, retry later', async () => {
  const client = await setup();
  em().injectFaults('keys.sync', [{ status: 503, times: 5 }]);
  const ac = new AbortController();
  const r = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0, signal: ac.signal, onProgress: (e) => { if (e.kind === 'backoff') ac.abort(); } });
  expect(r).toMatchObject({ outcome: 'failed', code: 'KS_ABORTED', phase: 'backoff', retryLater: true, attempts: 1 });
  expect(messageOf(r)).toContain('interrupted while backing off after attempt 1; not synced');
});

test('plain http to a non-loopback host is refused at construction', () => {
  expect(() => new KmsClient({ baseUrl: 'http://kms.example.com', credentials: { kind: 'token', token: 'x', envName: 'IBMCLOUD_IAM_TOKEN' } })).toThrow(/plain http to the non-loopback host/);
});
