import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const CLI = path.join(root, 'dist', 'key-sync.cjs');

/** The README's emulator block: the shell lines under the "run by test/e2e/readme.test.ts" marker. */
function readmeBlock(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- the block below is run line by line by test\/e2e\/readme\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md lost its tested emulator block');
  return m[1].split('\n').filter((l) => l.trim() !== '');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('the README emulator block runs as shown: emulator, export, sync 0, gated 75, registrations', async () => {
  const port = await freePort();
  // `npx key-sync` is the installed bin; in this checkout it is the bundle itself.
  const lines = readmeBlock().map((l) => l.replace(/npx key-sync/g, `node ${JSON.stringify(CLI)}`).replace(/8787/g, String(port)));
  const [emulatorLine, exportLine, ...commands] = lines;
  expect(emulatorLine).toMatch(/ emulator --port \d+ &/);

  const emulator = spawn('/bin/sh', ['-c', `exec ${emulatorLine.replace(/&.*$/, '')}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      emulator.stdout.setEncoding('utf8').on('data', (d: string) => {
        banner += d;
        if (banner.includes('Press Ctrl-C')) resolve();
      });
      emulator.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${banner}`)));
    });
    // The export line the README shows is the one the emulator prints.
    for (const assignment of exportLine.replace(/^export /, '').split(' ')) expect(banner).toContain(`export ${assignment}`);

    const expected = commands.map((c) => Number(/# exit (\d+)/.exec(c)?.[1] ?? 0));
    const results = commands.map((c) => {
      const r = spawnSync('/bin/sh', ['-c', `${exportLine}\n${c}`], { cwd: root, encoding: 'utf8', timeout: 20_000 });
      return { command: c, status: r.status, out: r.stdout + r.stderr };
    });
    expect(results.map((r) => r.status)).toEqual(expected);
    expect(results[0].out).toMatch(/synced key payments-root/);
    expect(results[1].out).toMatch(/gate closed until .* UTC, in 1 h.*\[HTTP 409, REQ_TOO_EARLY_ERR, KS_GATED/s);
    const listing = JSON.parse(results[2].out);
    expect(JSON.stringify(listing)).toContain('bucket:payments-ledger');
  } finally {
    emulator.kill('SIGTERM');
    await new Promise((r) => emulator.once('close', r));
  }
  expect(emulator.exitCode).toBe(0); // stops cleanly on SIGTERM
});
