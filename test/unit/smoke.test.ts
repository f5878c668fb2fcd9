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
