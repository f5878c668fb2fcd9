/**
 * Trigger hash properties beyond test/unit/trigger-hash.test.ts (which proves reversal of
 * associations and trigger keys): any permutation, any unicode in values, determinism,
 * and that a change in any trigger value changes the digest.
 */
import fc from 'fast-check';
import { canonicalJson, literalSyncHash, type SyncHashInput } from '../../src/constructs/trigger-hash';

const BASE: SyncHashInput = {
  instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20',
  endpoint: 'https://us-south.kms.cloud.ibm.com',
  keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
  lifecycle: { state: 'active' },
  associations: [],
  triggers: {},
};
const crn = fc.stringMatching(/^crn:v1:bluemix:public:[a-z-]{1,12}:us-south:a\/[0-9a-f]{4}:[0-9a-f]{4}:[a-z]{0,6}:[a-z0-9-]{0,10}$/);
const RUNS = { numRuns: 2000 };

test('any permutation of associations and triggers gives the same 64-hex digest, every time', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(crn, { maxLength: 10 }).chain((crns) => fc.tuple(fc.constant(crns), fc.shuffledSubarray(crns, { minLength: crns.length, maxLength: crns.length }))),
      fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 6 }),
      ([crns, shuffled], triggers) => {
        const entries = Object.entries(triggers);
        const a = literalSyncHash({ ...BASE, associations: crns, triggers });
        const b = literalSyncHash({ ...BASE, associations: shuffled, triggers: Object.fromEntries([...entries].sort(() => -1)) });
        expect(a).toMatch(/^[0-9a-f]{64}$/);
        expect(b).toBe(a);
        expect(literalSyncHash({ ...BASE, associations: crns, triggers })).toBe(a);
      },
    ),
    RUNS,
  );
});

test('a different trigger value gives a different digest; the canonical form round-trips', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (k, v1, v2) => {
      fc.pre(v1 !== v2);
      expect(literalSyncHash({ ...BASE, triggers: { [k]: v1 } })).not.toBe(literalSyncHash({ ...BASE, triggers: { [k]: v2 } }));
      const doc = { [k]: v1, list: [v2, v1] };
      expect(JSON.parse(canonicalJson(doc))).toEqual(doc);
    }),
    RUNS,
  );
});
