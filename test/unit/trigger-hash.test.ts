import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import * as fc from 'fast-check';
import { DEFAULT_KEY_SYNC_RESOURCE_TYPE, KmsInstance, RootKey } from '../../src';
import { skipUnless } from '../helpers/skip';
import { commandOf, syncResources, triggersOf } from '../helpers/sync-resource';
import {
  canonicalJson,
  escapeHclQuoted,
  escapeTemplateLiteral,
  literalSyncHash,
  sha256Hex,
  shellQuote,
  syncHashDocument,
  type SyncHashInput,
} from '../../src/constructs/trigger-hash';

const BASE: SyncHashInput = {
  instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20',
  endpoint: 'https://us-south.kms.cloud.ibm.com',
  keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
  lifecycle: { state: 'active', rotation: '2026-11-01' },
  associations: [
    'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger',
    'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::',
  ],
  triggers: {},
};

describe('canonicalJson', () => {
  test('sorts object keys at every level and has no white space; arrays keep their order', () => {
    expect(canonicalJson({ b: 1, a: { d: ['z', 'y'], c: null } })).toBe('{"a":{"c":null,"d":["z","y"]},"b":1}');
  });

  test('drops undefined members like a missing key', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });

  test('escapes like Go encoding/json (Terraform jsonencode): < > & U+2028 U+2029', () => {
    expect(canonicalJson({ s: 'a<b>c&d\u2028\u2029"\\' })).toBe('{"s":"a\\u003cb\\u003ec\\u0026d\\u2028\\u2029\\"\\\\"}');
  });
});

describe('literalSyncHash', () => {
  test('is the sha256 of the canonical document, with a pinned value (changing the form re-syncs every key)', () => {
    const doc = syncHashDocument(BASE);
    expect(doc.v).toBe(1);
    expect(literalSyncHash(BASE)).toBe(sha256Hex(canonicalJson(doc)));
    expect(literalSyncHash(BASE)).toMatch(/^[0-9a-f]{64}$/);
    expect(literalSyncHash(BASE)).toBe('8fc17b339007619c9bdbe9b81b74d068db1c03849912304c3e08a512575bd2c5');
  });

  const variants: Array<[string, Partial<SyncHashInput>]> = [
    ['instance id', { instanceId: '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73' }],
    ['endpoint', { endpoint: 'https://private.us-south.kms.cloud.ibm.com' }],
    ['key id', { keyId: 'payments-root' }],
    ['key ring added', { keyRing: 'payments' }],
    ['lifecycle state', { lifecycle: { state: 'disabled', rotation: '2026-11-01' } }],
    ['lifecycle rotation', { lifecycle: { state: 'active', rotation: '2026-12-01' } }],
    ['lifecycle rotation removed', { lifecycle: { state: 'active' } }],
    ['association added', { associations: [...BASE.associations, 'crn:v1:bluemix:public:messagehub:us-south:a/1:2::'] }],
    ['association removed', { associations: BASE.associations.slice(0, 1) }],
    ['association changed', { associations: [BASE.associations[0], BASE.associations[1].replace('us-south', 'us-east')] }],
    ['extra trigger', { triggers: { ticket: 'OPS-1' } }],
  ];
  test.each(variants)('changes when only the %s changes', (_name, change) => {
    expect(literalSyncHash({ ...BASE, ...change })).not.toBe(literalSyncHash(BASE));
  });

  test('an empty key ring differs from none; an absent lifecycle equals an empty one', () => {
    expect(literalSyncHash({ ...BASE, keyRing: '' })).not.toBe(literalSyncHash(BASE));
    expect(literalSyncHash({ ...BASE, lifecycle: undefined })).toBe(literalSyncHash({ ...BASE, lifecycle: {} }));
    expect(literalSyncHash({ ...BASE, triggers: undefined })).toBe(literalSyncHash({ ...BASE, triggers: {} }));
  });

  test('is insensitive to association order and trigger key order (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^crn:v1:bluemix:public:[a-z-]{1,12}:us-south:a\/[0-9a-f]{4}:[0-9a-f]{4}:[a-z]{0,6}:[a-z0-9-]{0,10}$/), { maxLength: 8 }),
        fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[A-Za-z0-9-]{0,10}$/), { maxKeys: 5 }),
        (crns, triggers) => {
          const reversedTriggers = Object.fromEntries(Object.entries(triggers).reverse());
          const a = literalSyncHash({ ...BASE, associations: crns, triggers });
          const b = literalSyncHash({ ...BASE, associations: [...crns].reverse(), triggers: reversedTriggers });
          return a === b;
        },
      ),
    );
  });
});

describe('escaping helpers', () => {
  test.each([
    ['plain', "'plain'"],
    ["it's", "'it'\\''s'"],
    ['$HOME `x` "y"', "'$HOME `x` \"y\"'"],
    ['', "''"],
  ])('shellQuote(%j) = %s', (s, quoted) => expect(shellQuote(s)).toBe(quoted));

  test('escapeTemplateLiteral escapes interpolation and directive openers only', () => {
    expect(escapeTemplateLiteral('a ${b} %{c} $d %e')).toBe('a $${b} %%{c} $d %e');
  });

  test('escapeHclQuoted escapes backslash, quote and %{', () => {
    expect(escapeHclQuoted('a\\b"c%{d}')).toBe('a\\\\b\\"c%%{d}');
  });
});

// Terraform itself is the judge of the token form: evaluate the synthesized expression
// with each variable replaced by a literal, and compare with the literal digest.
const terraform = ['terraform', 'tofu'].find((bin) => spawnSync(bin, ['version'], { encoding: 'utf8' }).status === 0);
const withTerraform = skipUnless(terraform !== undefined, 'token form evaluated by terraform', 'neither terraform nor tofu is on PATH (install one to run it)').describe;

function terraformConsole(expressions: string[]): string[] {
  const cwd = mkdtempSync(path.join(tmpdir(), 'tf-console-'));
  const r = spawnSync(terraform!, ['console'], {
    cwd,
    input: `${expressions.join('\n')}\n`,
    encoding: 'utf8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`terraform console failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as string);
}

/** HCL string literal of a value. */
function hclString(s: string): string {
  return `"${escapeHclQuoted(s).replace(/\$\{/g, () => '$${')}"`;
}

withTerraform(`token form evaluated by ${terraform ?? 'terraform (not installed)'}`, () => {
  const odd = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:a<b>&c"d\\e%{f}';
  const cases: Array<[string, Record<string, string>, (v: Record<string, string>) => SyncHashInput]> = [
    ['key id token', { key_id: BASE.keyId }, (v) => ({ ...BASE, keyId: v.key_id })],
    ['token CRN among literal ones (sorted by Terraform)', { crn: 'crn:v1:bluemix:public:aaa-first:us-south:a/1:2::' }, (v) => ({ ...BASE, associations: [...BASE.associations, v.crn] })],
    ['endpoint with a token inside a literal URL', { host: 'kms.example.com' }, (v) => ({ ...BASE, endpoint: `https://${v.host}:9730` })],
    ['literal CRN that needs escaping, token rotation and trigger', { rot: 'r<1>', t: 'x&y' }, (v) => ({
      ...BASE, keyRing: 'ring-1', lifecycle: { rotation: v.rot }, associations: [odd], triggers: { b: v.t, a: 'lit' },
    })],
  ];

  test.each(cases)('%s: same digest as the literal form', (_name, values, build) => {
    // cdktf warns about any "${" inside a function argument (here: a token inside a URL);
    // the rendered expression is right, as Terraform's digest below shows.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const tokens = Object.fromEntries(Object.keys(values).map((k) => [k, new TerraformVariable(stack, k, { type: 'string' }).stringValue]));
    const input = build(tokens);
    const key = new RootKey(stack, 'Key', {
      instance: KmsInstance.fromEndpoint({ instanceId: input.instanceId, endpoint: input.endpoint }),
      keyId: input.keyId,
      keyRing: input.keyRing,
      lifecycle: input.lifecycle as { state?: 'active'; rotation?: string },
    });
    input.associations.forEach((resourceCrn, i) => key.associate(`A${i}`, { resourceCrn }));
    key.sync({ triggers: input.triggers });
    const json = JSON.parse(Testing.synth(stack));
    const expr = triggersOf(syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)['Key_sync']!)['sync_hash']!;
    expect(expr).toMatch(/^\$\{sha256\(jsonencode\(\{.*\}\)\)\}$/);
    let hcl = expr.slice(2, -1);
    for (const [k, v] of Object.entries(values)) hcl = hcl.split(`var.${k}`).join(hclString(v));
    const [digest] = terraformConsole([hcl]);
    expect(digest).toBe(literalSyncHash(build(values)));
    warn.mockRestore();
  });

  test("the command's quoting of a token survives a ' in its value", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const v = new TerraformVariable(stack, 'key', { type: 'string' }).stringValue;
    const key = new RootKey(stack, 'Key', { instance: KmsInstance.keyProtect({ instanceId: BASE.instanceId, region: 'us-south' }), keyId: v });
    key.sync();
    const command = commandOf(syncResources(JSON.parse(Testing.synth(stack)), DEFAULT_KEY_SYNC_RESOURCE_TYPE)['Key_sync']!);
    const word = command.match(/--key-id ('\$\{[^']*'[^}]*\}')/)?.[1];
    expect(word).toBeDefined();
    // Render the word as the Terraform template it is, then let /bin/sh split it.
    const [rendered] = terraformConsole([`"${word!.replace('var.key', () => hclString("it's $(odd) ${x}"))}"`]);
    const echoed = spawnSync('/bin/sh', ['-c', `printf %s ${rendered}`], { encoding: 'utf8' }).stdout;
    expect(echoed).toBe("it's $(odd) ${x}");
  });
});
