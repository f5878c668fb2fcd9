/**
 * Hostile input end to end (what test/integration/emulator-admin.test.ts does not already
 * cover: raw traversal paths, huge headers, non-UTF-8 headers and bodies on the emulator):
 * malformed and non-UTF-8 seed files through the real `key-sync emulator` command,
 * traversal in key ids through the CLI (refused before any request) and through the
 * in-process client (encoded; the emulator answers 400 and keeps serving).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Agent } from 'undici';
import { KmsClient } from '../../src/client/kms-client';
import { CANARY_KEY, KP_INSTANCE, KP_KEY, emptyDir, env, runCli, runLeaks, startCanary } from './harness';

describe('key-sync emulator --seed with a bad file: exit 2, a clear message, no stack', () => {
  const dir = emptyDir('key-sync-seed-');
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ['non-UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), /not valid JSON/],
    ['truncated JSON', '{"instances":[{"id":"../x"', /not valid JSON/],
    ['a JSON array', '[]', /seed|instances|object/i],
    ['a key id with traversal', JSON.stringify({ instances: [{ id: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', kind: 'key-protect', region: 'us-south' }], keys: [{ id: '../../etc', instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', name: 'x' }], apiKeys: ['abcdefghij'] }), /keys\[0\]\.id/],
    ['deeply nested JSON', `${'['.repeat(5000)}${']'.repeat(5000)}`, /seed|object|instances/i],
    ['an empty file', '', /not valid JSON/],
  ];
  test.each(cases)('%s', async (name, content, re) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, content);
    const r = await runCli(['emulator', '--seed', file], { PATH: process.env['PATH'] ?? '' }, { timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    expect(r.stdout).not.toContain('listening');
  });
});

describe('traversal in key ids', () => {
  const ids = ['../x', '..', '%2e%2e', 'a%2Fb', '..%2F..%2Fkeys', 'a/../b', 'x\\y'];

  test.each(ids)('CLI --key-id %p: exit 2, zero requests', async (id) => {
    const emu = await startCanary();
    try {
      const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', id], env('apikey', { kms: emu.url, iam: emu.url }));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--key-id ".*" is neither a key UUID nor a valid alias/);
      expect(emu.log()).toHaveLength(0);
      expect(runLeaks(r, emu)).toEqual([]);
    } finally {
      await emu.close();
    }
  });

  test('in-process client: ids are encoded into one path segment; the emulator refuses them with 400 and keeps serving', async () => {
    const emu = await startCanary();
    const agent = new Agent();
    try {
      const client = new KmsClient({ baseUrl: emu.url, credentials: { kind: 'api-key', apiKey: CANARY_KEY, iamBaseUrl: emu.url, envName: 'IBMCLOUD_API_KEY' }, dispatcher: agent });
      for (const id of ids) {
        const r = await client.sync(id, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
        expect({ id, outcome: r.outcome, status: r.status, attempts: r.attempts, retryLater: r.retryLater }).toEqual({ id, outcome: 'failed', status: 400, attempts: 1, retryLater: false });
      }
      const paths = emu.log().filter((e) => e.route !== 'iam.token').map((e) => e.path);
      for (const p of paths) expect(p).toMatch(/^\/api\/v2\/keys\/[^/]+\/actions\/sync$/);
      const ok = await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0 });
      expect(ok).toMatchObject({ outcome: 'synced', status: 204 });
    } finally {
      await agent.close();
      await emu.close();
    }
  });
});
