import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EMULATOR_FLAGS, runEmulatorCommand } from '../../src/emulator/cli-command';
import { call, kms, PAYMENTS_KEY, token } from './emulator-helpers';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('prints URL, ids, aliases, API key and export lines; serves; stops on abort with 0', async () => {
  const out = capture();
  const err = capture();
  const ac = new AbortController();
  const done = runEmulatorCommand(['--port', '0', '--gate-seconds', '120'], { stdout: out.stream, stderr: err.stream }, ac.signal);
  await waitFor(() => out.text().includes('Ctrl-C'));
  const text = out.text();
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1] as string;
  expect(url).toBeDefined();
  for (const s of [
    '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20',
    '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73',
    '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
    'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9',
    'alias payments-root',
    'alias analytics-root',
    'ks-emulator-demo-key',
    'export IBMCLOUD_API_KEY=ks-emulator-demo-key',
    `export IBMCLOUD_IAM_API_ENDPOINT=${url}\n`,
    `export IBMCLOUD_KP_API_ENDPOINT=${url}\n`,
  ]) {
    expect(text).toContain(s);
  }
  const tok = await token(url);
  expect((await kms(url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(204);
  const gated = await kms(url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`);
  expect(gated.json.resources[0].reasons[0].message).toMatch(/until at least/);
  const state = await call(url, 'GET', '/__emulator/state');
  expect(state.json.gateSeconds).toBe(120);
  ac.abort();
  await expect(done).resolves.toBe(0);
  expect(out.text()).toContain('stopped');
  await expect(call(url, 'GET', '/__emulator/clock')).rejects.toThrow();
  expect(err.text()).toBe('');
});

test('--seed loads a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-cli-'));
  const file = join(dir, 'seed.json');
  writeFileSync(
    file,
    JSON.stringify({
      instances: [{ id: '11111111-2222-4333-8444-555555555555', kind: 'hpcs', region: 'eu-de' }],
      keys: [{ id: '22222222-3333-4444-8555-666666666666', instanceId: '11111111-2222-4333-8444-555555555555', name: 'mine', aliases: ['mine'] }],
      apiKeys: ['my-own-api-key'],
    }),
  );
  const out = capture();
  const ac = new AbortController();
  const done = runEmulatorCommand(['--seed', file], { stdout: out.stream, stderr: capture().stream }, ac.signal);
  await waitFor(() => out.text().includes('Ctrl-C'));
  expect(out.text()).toContain('export IBMCLOUD_API_KEY=my-own-api-key');
  expect(out.text()).toContain('HPCS');
  expect(out.text()).toContain('22222222-3333-4444-8555-666666666666');
  ac.abort();
  await expect(done).resolves.toBe(0);
});

test.each<[string[], RegExp]>([
  [['--port', 'abc'], /--port: invalid value 'abc': use an integer from 0 to 65535/],
  [['--port', '70000'], /--port: invalid value '70000'/],
  [['--gate-seconds', '-5'], /--gate-seconds/],
  [['--gate-seconds=-5'], /--gate-seconds: invalid value '-5': use an integer from 0/],
  [['--registration-ack-seconds', 'soon'], /--registration-ack-seconds: invalid value 'soon': use an integer from 0 to 31622400/],
  [['--max-page-size', '0'], /--max-page-size: invalid value '0': use an integer from 1 to 5000/],
  [['--max-page-size', '5001'], /--max-page-size: invalid value '5001'/],
  [['--version-date-skew-seconds=61'], /--version-date-skew-seconds: invalid value '61': use an integer from -60 to 60/],
  [['--host', '0.0.0.0'], /--host: refusing '0.0.0.0'.*127\.0\.0\.1/],
  [['--nope'], /Unknown option '--nope'/],
  [['positional'], /positional/i],
  [['--seed', '/nonexistent/seed.json'], /--seed: Cannot read seed file \/nonexistent\/seed\.json: ENOENT/],
])('bad flags %j -> 2 with a message naming the flag', async (argv, message) => {
  const err = capture();
  const out = capture();
  await expect(runEmulatorCommand(argv, { stdout: out.stream, stderr: err.stream })).resolves.toBe(2);
  expect(err.text()).toMatch(message);
  expect(err.text()).toContain('Usage: key-sync emulator');
});

test('a bad seed file -> 2 naming the field and the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-cli-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ instances: [{ id: 'nope', kind: 'key-protect', region: 'us-south' }], keys: [], apiKeys: ['abcdefgh'] }));
  const err = capture();
  await expect(runEmulatorCommand(['--seed', file], { stdout: capture().stream, stderr: err.stream })).resolves.toBe(2);
  expect(err.text()).toMatch(/bad\.json: \$\.instances\[0\]\.id: invalid value "nope": use the instance GUID/);
});

test('--help -> 0 and lists every flag the command accepts, with its help line', async () => {
  const out = capture();
  await expect(runEmulatorCommand(['--help'], { stdout: out.stream, stderr: capture().stream })).resolves.toBe(0);
  const text = out.text();
  expect(text).toContain('Usage: key-sync emulator');
  const flags = Object.keys(EMULATOR_FLAGS);
  expect(flags).toEqual(expect.arrayContaining(['port', 'host', 'seed', 'gate-seconds', 'token-ttl-seconds', 'registration-ack-seconds', 'max-page-size', 'version-date-skew-seconds', 'help']));
  for (const flag of flags) {
    expect(text).toMatch(new RegExp(`^  (-h, )?--${flag}\\b.* \\S`, 'm'));
    // and each listed flag is accepted (none is only documented)
    const argv = flag === 'help' ? ['--help'] : flag === 'host' ? ['--host', '127.0.0.1', '--help'] : flag === 'seed' ? ['--help'] : [`--${flag}`, '1', '--help'];
    await expect(runEmulatorCommand(argv, { stdout: capture().stream, stderr: capture().stream })).resolves.toBe(0);
  }
  // every --flag the help mentions is a real one
  for (const m of text.matchAll(/--([a-z][a-z-]+)/g)) expect(flags).toContain(m[1]);
});

test('--registration-ack-seconds, --max-page-size, --version-date-skew-seconds take effect and are printed', async () => {
  const out = capture();
  const ac = new AbortController();
  const done = runEmulatorCommand(['--registration-ack-seconds', '90', '--max-page-size', '25', '--version-date-skew-seconds=-30'], { stdout: out.stream, stderr: capture().stream }, ac.signal);
  await waitFor(() => out.text().includes('Ctrl-C'));
  expect(out.text()).toContain('registrations acknowledge a new key version after 90 s; listing pages capped at 25 items');
  expect(out.text()).toMatch(/__emulator\/\{log,clock,faults,state,settings,registrations\/ack\}/);
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out.text())?.[1] as string;
  expect((await call(url, 'GET', '/__emulator/settings')).json).toEqual({ maxPageSize: 25, registrationAckSeconds: 90, versionDateSkewSeconds: -30 });
  ac.abort();
  await expect(done).resolves.toBe(0);
});

test('an already-aborted signal starts and stops at once', async () => {
  const ac = new AbortController();
  ac.abort();
  await expect(runEmulatorCommand([], { stdout: capture().stream, stderr: capture().stream }, ac.signal)).resolves.toBe(0);
});
