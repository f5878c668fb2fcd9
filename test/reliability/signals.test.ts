/**
 * SIGINT and SIGTERM at every point a run can be in: during the IAM exchange, a request
 * (the server never answers), a backoff (503 with a long Retry-After), a gate wait, and
 * the registrations listing of --verify-registrations. The CLI (child process) must exit
 * within a second with 75 and a line saying where it was, or 0 when the sync had already
 * been accepted. In-process runs check that nothing (timer, socket) is left behind.
 */
import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import type { RunningEmulator } from '../../src/emulator/server';
import { run } from '../../src/cli/run';
import { KP_INSTANCE, KP_KEY, env, runCli, runLeaks, startCanary, tapProxy, type CliRun } from './harness';

type Phase = 'iam' | 'request' | 'backoff' | 'gate-wait' | 'listing';

interface Case {
  readonly phase: Phase;
  readonly message: RegExp;
  readonly args?: readonly string[];
  /**
   * Prepare the emulator; return when to send the signal: once stderr matches, or once a
   * request whose first line matches has gone out (seen by a proxy in front of the emulator).
   */
  readonly arm: (emu: RunningEmulator) => RegExp | { readonly request: RegExp };
}

const CASES: readonly Case[] = [
  {
    phase: 'iam',
    message: /interrupted while getting an IAM token; nothing was sent to the key service/,
    arm: (emu) => {
      emu.injectFaults('iam.token', [{ hang: true }]);
      return { request: /POST \/identity\/token / };
    },
  },
  {
    phase: 'request',
    message: /interrupted during attempt 1, before the service answered; the sync may or may not have been accepted/,
    arm: (emu) => {
      emu.injectFaults('keys.sync', [{ hang: true }]);
      return { request: /POST \/api\/v2\/keys\/\S+\/actions\/sync / };
    },
  },
  {
    phase: 'backoff',
    message: /interrupted while backing off after attempt 1; not synced/,
    arm: (emu) => {
      emu.injectFaults('keys.sync', [{ status: 503, headers: { 'Retry-After': '100' } }]);
      return /\(attempt \d of 5\); trying again in 1 min 40 s/;
    },
  },
  {
    phase: 'gate-wait',
    args: ['--max-wait', '3700'],
    message: /interrupted while waiting for the sync time gate \(opens .* UTC\); not synced/,
    arm: (emu) => {
      const key = emu.state.findKey(KP_INSTANCE, KP_KEY);
      if (key === undefined) throw new Error('seed key missing');
      emu.state.sync(key, emu.clock.now());
      return /sync time gate closed until/;
    },
  },
  {
    phase: 'listing',
    args: ['--verify-registrations'],
    message: /interrupted while listing registrations; no sync was sent/,
    arm: (emu) => {
      emu.injectFaults('registrations.key', [{ hang: true }]);
      return { request: /GET \/api\/v2\/keys\/\S+\/registrations/ };
    },
  },
];

const MATRIX = CASES.flatMap((c) => (['SIGINT', 'SIGTERM'] as const).map((sig) => [`${sig} during ${c.phase}`, c, sig] as const));

test.concurrent.each(MATRIX)('%s: exit 75 within a second, says where it was', async (_n, c, sig) => {
  const emu = await startCanary();
  let child: { kill: (s: NodeJS.Signals) => boolean } | undefined;
  let sentAt = 0;
  const send = (): void => {
    if (sentAt !== 0 || child === undefined) return;
    sentAt = Date.now();
    child.kill(sig);
  };
  const trigger = c.arm(emu);
  let seen = '';
  const proxy = await tapProxy(emu.port, (chunk) => {
    seen += chunk;
    if (!(trigger instanceof RegExp) && trigger.request.test(seen)) setTimeout(send, 100);
  });
  try {
    const r: CliRun = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, ...(c.args ?? [])], env('apikey', { kms: proxy.url, iam: proxy.url }, { KEY_SYNC_TIME_SCALE: '1', KEY_SYNC_ATTEMPT_TIMEOUT_MS: '10000' }), {
      timeoutMs: 20_000,
      onSpawn: (ch) => {
        child = ch;
      },
      onStderr: (all) => {
        if (trigger instanceof RegExp && trigger.test(all)) send();
      },
    });
    expect(sentAt).toBeGreaterThan(0);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 75, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(r.stderr).toMatch(/key-sync: interrupted, key /);
    expect(r.stderr).toMatch(c.message);
    expect(r.stderr).toContain('KS_ABORTED');
    expect(runLeaks(r, emu)).toEqual([]);
    if (c.phase === 'listing') expect(emu.log().filter((e) => e.route === 'keys.sync')).toHaveLength(0);
  } finally {
    await proxy.close();
    await emu.close();
  }
}, 30_000);

// ---------------------------------------------------------------------------------------
// In-process: the same phases through run(), with an AbortController as the signal.

function sink(): { write: (s: string) => boolean; text: () => string } {
  let t = '';
  return { write: (s: string) => ((t += s), true), text: () => t };
}

/** Timers and sockets alive in this process, by kind. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return { Timeout: out['Timeout'] ?? 0, TCPSocketWrap: out['TCPSocketWrap'] ?? 0 };
}

describe('in process: nothing is left behind', () => {
  test.each(CASES.map((c) => [c.phase, c] as const))('abort during %s', async (_p, c) => {
    const before = resources();
    const emu = await startCanary();
    const trigger = c.arm(emu);
    const ac = new AbortController();
    const out = sink();
    const err = sink();
    let timer: NodeJS.Timeout | undefined;
    const errSink = {
      write: (s: string): boolean => {
        err.write(s);
        if (trigger instanceof RegExp && trigger.test(err.text())) ac.abort('SIGTERM');
        return true;
      },
    };
    let seen = '';
    const proxy = await tapProxy(emu.port, (chunk) => {
      seen += chunk;
      if (!(trigger instanceof RegExp) && trigger.request.test(seen)) timer ??= setTimeout(() => ac.abort('SIGINT'), 100);
    });
    const code = await run(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, ...(c.args ?? [])], env('apikey', { kms: proxy.url, iam: proxy.url }, { KEY_SYNC_TIME_SCALE: '1', KEY_SYNC_ATTEMPT_TIMEOUT_MS: '10000' }), {
      stdout: out, stderr: errSink, isTTY: false, signal: ac.signal,
    });
    clearTimeout(timer);
    expect(code).toBe(75);
    expect(err.text()).toMatch(c.message);
    await proxy.close();
    await emu.close();
    // undici's shared timer wheel stops itself within about a second once idle.
    const settled = (): boolean => resources().Timeout! <= before.Timeout! && resources().TCPSocketWrap! <= before.TCPSocketWrap!;
    for (let i = 0; i < 40 && !settled(); i++) await new Promise((r) => setTimeout(r, 100));
    // At most what was alive before (CLI runs of this file may still be winding down).
    const after = resources();
    expect(after.Timeout).toBeLessThanOrEqual(before.Timeout ?? 0);
    expect(after.TCPSocketWrap).toBeLessThanOrEqual(before.TCPSocketWrap ?? 0);
  });

  test('a signal that arrives as the 204 comes back: exit 0, reported as synced', async () => {
    const emu = await startCanary();
    const agent = new Agent();
    const ac = new AbortController();
    const dispatcher = {
      request: async (opts: Dispatcher.RequestOptions) => {
        const res = await agent.request(opts);
        if (String(opts.path).endsWith('/actions/sync') && res.statusCode === 204) ac.abort('SIGTERM');
        return res;
      },
      destroy: () => agent.destroy(),
      close: () => agent.close(),
    } as unknown as Dispatcher;
    const out = sink();
    const err = sink();
    const code = await run(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY], env('apikey', { kms: emu.url, iam: emu.url }), {
      stdout: out, stderr: err, isTTY: false, signal: ac.signal, dispatcher,
    });
    expect(ac.signal.aborted).toBe(true);
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^key-sync: synced key .*sync accepted \(204\)/);
    await agent.close();
    await emu.close();
  });
});
