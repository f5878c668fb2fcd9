/**
 * What a newcomer meets first, through the real CLI: help for each command, near-flag
 * suggestions with the hint printed once, every command listed, the endpoint named in
 * network failures with one vocabulary of attempts, the fix for a bad static token, and
 * fleet output that ends at the real final count and syncs one key once.
 */
import type { RunningEmulator } from '../../src/emulator/server';
import { CANARY_API_KEY, KP_INSTANCE, KP_KEY, cliEnv, closedPort, requests, runCli, startCanaryEmulator } from '../helpers/cli';

let emu: RunningEmulator;
beforeEach(async () => {
  emu = await startCanaryEmulator({ gateSeconds: 0 });
});
afterEach(async () => emu.close());

const plain = (): Record<string, string> => ({ PATH: process.env['PATH'] ?? '' });

describe('help', () => {
  test.each([[['help', 'sync']], [['sync', '--help']], [['sync', '-h']]])('%j prints the sync page', async (args) => {
    const r = await runCli(args, plain());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:\n  key-sync sync --instance-id ID --key-id ID/);
    expect(r.stdout).toContain('--max-wait SECONDS');
    expect(r.stdout).not.toContain('Commands:');
  });

  test('key-sync help registrations / registrations --help print the registrations page', async () => {
    for (const args of [['help', 'registrations'], ['registrations', '--help']]) {
      const r = await runCli(args, plain());
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage:\n  key-sync registrations --instance-id ID/);
    }
  });

  test('key-sync help emulator prints the emulator\'s own flags', async () => {
    const r = await runCli(['help', 'emulator'], plain());
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain('Usage: key-sync emulator');
  });

  test('no command: every command is named, exit 2', async () => {
    const r = await runCli([], plain());
    expect(r.code).toBe(2);
    for (const c of ['sync', 'registrations', 'emulator', 'help', 'version']) expect(r.stderr).toContain(c);
  });

  test('an unknown flag: the near flag suggested, the --help hint printed once', async () => {
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--keyid', KP_KEY], cliEnv(emu));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('key-sync: unknown flag --keyid for `key-sync sync`; did you mean --key-id?\nRun `key-sync sync --help` for usage.\n');
  });
});

describe('failures a newcomer meets', () => {
  test('the key service refusing connections: the URL is named, attempts counted one way', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json'], cliEnv(emu, { IBMCLOUD_KP_API_ENDPOINT: url }));
    expect(r.code).toBe(75);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ attempts: 5, iamAttempts: 1, code: 'KS_NETWORK' });
    expect(j['message']).toBe(`the key service at ${url}: gave up after 5 attempts; last: connection refused (ECONNREFUSED); not synced, retry later (the next apply retries it)`);
    expect(r.stderr).toContain(`sync request to ${url}: connection refused (ECONNREFUSED) (attempt 1 of 5)`);
  });

  test('IAM failing: iamAttempts counts what the message says', async () => {
    emu.injectFaults('iam.token', [{ status: 503, times: 100 }]);
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json'], cliEnv(emu));
    expect(r.code).toBe(75);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ attempts: 0, iamAttempts: 5, code: 'KS_HTTP_5XX' });
    expect(j['message']).toMatch(new RegExp(`^could not get an IAM token from ${emu.url.replace(/[.:/]/g, '\\$&')}: gave up after 5 attempts; last: HTTP 503`));
  });

  test('an invalid static token: the service\'s words and the fix for a token, not advice about roles', async () => {
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY], cliEnv(emu, { IBMCLOUD_API_KEY: '', IBMCLOUD_IAM_TOKEN: 'garbage' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the key service refused the token from IBMCLOUD_IAM_TOKEN \(401 UNAUTHORIZED_ERR: .*not valid.*\): it is not valid or has expired; get a fresh one \(`ibmcloud iam oauth-tokens`\), or set IBMCLOUD_API_KEY instead/);
    expect(r.stderr).not.toMatch(/Writer or Manager/);
    expect(requests(emu, 'keys.sync')).toHaveLength(1);
  });
});

describe('fleets', () => {
  test('--json: the progress on stderr ends at the real final count', async () => {
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--key-id', 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9', '--json'], cliEnv(emu, { IBMCLOUD_KP_API_ENDPOINT: emu.url }));
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^key-sync: 2\/2 done: /);
  });

  test('the alias and the UUID of one key: synced once, and the output says which', async () => {
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', 'payments-root', '--key-id', KP_KEY, '--key-id', KP_KEY.toUpperCase(), '--json'], cliEnv(emu));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 duplicate key given; each key is synced once');
    expect(r.stderr).toContain(`${KP_KEY} and payments-root are the same key; it is synced once, as payments-root`);
    const j = JSON.parse(r.stdout) as { counts: { total: number }; sameKeys: unknown[] };
    expect(j.counts.total).toBe(1);
    expect(j.sameKeys).toEqual([{ given: KP_KEY, keyId: 'payments-root' }]);
    expect(requests(emu, 'keys.sync')).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain(CANARY_API_KEY);
  });
});
