import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { version } from '../../src/cli/run';

const cli = path.resolve(__dirname, '../../dist/key-sync.cjs');

test('the CLI bundle runs and prints its version', () => {
  const out = execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
  expect(out).toBe('key-sync 0.1.0\n');
  // Under ts-jest the version comes from package.json; in the bundle it is inlined.
  expect(version()).toBe('0.1.0');
});

test('importing the package root (what every synth does) does not load undici', () => {
  // A child process: jest's module registry would hide what plain Node loads.
  const root = path.resolve(__dirname, '../..');
  const probe = `require('tsx/cjs'); const i = require(${JSON.stringify(path.join(root, 'src', 'index.ts'))});
    const loaded = Object.keys(require.cache).filter((k) => k.includes('/node_modules/undici/'));
    console.log(JSON.stringify({ constructs: typeof i.KeySync, client: typeof i.KmsClient, undiciFiles: loaded.length }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' })) as Record<string, unknown>;
  expect(out).toEqual({ constructs: 'function', client: 'function', undiciFiles: 0 });
});
