import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

test('the CLI bundle runs and prints its version', () => {
  const out = execFileSync(process.execPath, [path.resolve(__dirname, '../../dist/key-sync.cjs')], { encoding: 'utf8' });
  expect(out).toMatch(/^key-sync 0\.1\.0/);
});
