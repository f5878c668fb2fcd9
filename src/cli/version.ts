import { readFileSync } from 'node:fs';
import * as path from 'node:path';

declare const KEY_SYNC_VERSION: string;

/** The package version: inlined by the bundler; read from package.json under ts-jest/tsx. */
export function version(): string {
  if (typeof KEY_SYNC_VERSION === 'string') return KEY_SYNC_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}
