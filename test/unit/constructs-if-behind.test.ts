/**
 * KeySync's onlyIfBehind (both cores): the synthesized command asks the CLI to sync only
 * when the key is behind, and the choice is not in the sync hash (changing it never
 * re-runs a sync).
 */
import { Testing, TerraformStack } from 'cdktf';
import { DEFAULT_KEY_SYNC_RESOURCE_TYPE, KmsInstance, RootKey } from '../../src';
import { commandOf, syncResources, triggersOf, type SynthJson } from '../helpers/sync-resource';

const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';

function synth(onlyIfBehind: boolean | undefined): { command: string; hash: string } {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const key = new RootKey(stack, 'PaymentsKey', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId: KEY });
  key.sync(onlyIfBehind === undefined ? {} : { onlyIfBehind });
  const json = JSON.parse(Testing.synth(stack)) as SynthJson;
  const r = syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)['PaymentsKey_sync'];
  if (r === undefined) throw new Error('no PaymentsKey_sync');
  return { command: commandOf(r), hash: triggersOf(r)['sync_hash'] ?? '' };
}

test('onlyIfBehind adds --if-behind to the command; off by default', () => {
  expect(synth(true).command).toMatch(/ sync .* --if-behind$/);
  expect(synth(undefined).command).not.toContain('--if-behind');
  expect(synth(false).command).not.toContain('--if-behind');
});

test('onlyIfBehind is not in the sync hash', () => {
  expect(synth(true).hash).toMatch(/^[0-9a-f]{64}$/);
  expect(synth(true).hash).toBe(synth(false).hash);
});
