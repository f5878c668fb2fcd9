import { DEFAULT_MAX_WAIT_SECONDS } from '../../src/domain';
import { COMMANDS, HELP, helpText } from '../../src/cli/help';
import { editDistance } from '../../src/cli/flags';
import { parseCommand, type Command } from '../../src/cli/parse-command';

const INST = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CANARY = 'CANARY-apikey-args-0123456789';
const ENV = { IBMCLOUD_API_KEY: CANARY };
const base = ['sync', '--instance-id', INST, '--key-id', KEY];

function usageMessage(c: Command): string {
  if (c.kind !== 'usage-error') throw new Error(`expected a usage error, got ${c.kind}`);
  return c.message;
}

describe('commands', () => {
  test.each<[string[], string]>([
    [[], 'usage-error'],
    [['--help'], 'help'], [['-h'], 'help'], [['help'], 'help'], [['help', 'sync'], 'help'],
    [['--version'], 'version'], [['-V'], 'version'], [['version'], 'version'],
    [['sync', '--help'], 'help'], [['registrations', '-h'], 'help'],
    [['emulator', '--port', '0'], 'emulator'],
    [['frobnicate'], 'usage-error'], [['--frob'], 'usage-error'],
  ])('%j -> %s', (argv, kind) => {
    expect(parseCommand(argv, {}).kind).toBe(kind);
  });

  test('emulator flags are passed through untouched', () => {
    expect(parseCommand(['emulator', '--seed', 'x.json', '--weird'], {})).toEqual({ kind: 'emulator', argv: ['--seed', 'x.json', '--weird'] });
  });
});

describe('sync: valid', () => {
  test.each<[string, string[], Record<string, string>, Record<string, unknown>]>([
    ['region, defaults', [...base, '--region', 'us-south'], ENV, { baseUrl: 'https://us-south.kms.cloud.ibm.com', endpointSource: '--region', maxWaitSeconds: DEFAULT_MAX_WAIT_SECONDS, json: false, verifyRegistrations: false, keyId: KEY, instanceId: INST, timeScale: 1 }],
    ['private key protect', [...base, '--region', 'eu-de', '--private'], ENV, { baseUrl: 'https://private.eu-de.kms.cloud.ibm.com' }],
    ['hpcs with port', [...base, '--region', 'us-south', '--service', 'hpcs', '--port', '9730'], ENV, { baseUrl: 'https://api.us-south.hs-crypto.cloud.ibm.com:9730' }],
    ['hpcs without port', [...base, '--region', 'us-east', '--service', 'hpcs'], ENV, { baseUrl: `https://${INST}.api.us-east.hs-crypto.appdomain.cloud` }],
    ['endpoint', [...base, '--endpoint', 'http://127.0.0.1:4000/'], ENV, { baseUrl: 'http://127.0.0.1:4000', endpointSource: '--endpoint' }],
    ['env endpoint only', base, { ...ENV, IBMCLOUD_KP_API_ENDPOINT: 'http://localhost:5000' }, { baseUrl: 'http://localhost:5000', endpointSource: 'IBMCLOUD_KP_API_ENDPOINT', notes: [] }],
    ['env endpoint overrides region', [...base, '--region', 'us-south'], { ...ENV, IBMCLOUD_KP_API_ENDPOINT: 'http://127.0.0.1:5000' }, { baseUrl: 'http://127.0.0.1:5000', notes: ['IBMCLOUD_KP_API_ENDPOINT overrides --region: using http://127.0.0.1:5000'] }],
    ['alias, key ring, max-wait, json, verify', ['sync', '--instance-id', INST, '--key-id', 'payments-root', '--region', 'us-south', '--key-ring', 'ring-1', '--max-wait', '0', '--json', '--verify-registrations'], ENV, { keyId: 'payments-root', keyRing: 'ring-1', maxWaitSeconds: 0, json: true, verifyRegistrations: true }],
    ['--flag=value form', ['sync', `--instance-id=${INST}`, `--key-id=${KEY}`, '--region=us-south', '--max-wait=3600'], ENV, { maxWaitSeconds: 3600 }],
    ['IC_API_KEY', [...base, '--region', 'us-south'], { IC_API_KEY: CANARY }, { credentials: { kind: 'api-key', apiKey: CANARY, iamBaseUrl: 'https://iam.cloud.ibm.com', envName: 'IC_API_KEY' } }],
    ['IAM endpoint with path', [...base, '--region', 'us-south'], { ...ENV, IBMCLOUD_IAM_API_ENDPOINT: 'http://127.0.0.1:9/identity/token' }, { credentials: { kind: 'api-key', apiKey: CANARY, iamBaseUrl: 'http://127.0.0.1:9', envName: 'IBMCLOUD_API_KEY' } }],
    ['static token, Bearer stripped', [...base, '--region', 'us-south'], { IBMCLOUD_IAM_TOKEN: 'Bearer abc.def.ghi' }, { credentials: { kind: 'token', token: 'abc.def.ghi', envName: 'IBMCLOUD_IAM_TOKEN' } }],
    ['IC_IAM_TOKEN', [...base, '--region', 'us-south'], { IC_IAM_TOKEN: 'tok123' }, { credentials: { kind: 'token', token: 'tok123', envName: 'IC_IAM_TOKEN' } }],
    ['API key wins over a token', [...base, '--region', 'us-south'], { ...ENV, IBMCLOUD_IAM_TOKEN: 'tok' }, { credentials: { kind: 'api-key', apiKey: CANARY, iamBaseUrl: 'https://iam.cloud.ibm.com', envName: 'IBMCLOUD_API_KEY' } }],
    ['test hooks', [...base, '--region', 'us-south'], { ...ENV, KEY_SYNC_TIME_SCALE: '0.001', KEY_SYNC_ATTEMPT_TIMEOUT_MS: '500' }, { timeScale: 0.001, attemptTimeoutMs: 500 }],
  ])('%s', (_n, argv, env, expected) => {
    const c = parseCommand(argv, env);
    expect(c.kind).toBe('sync');
    if (c.kind === 'sync') expect(c.config).toMatchObject(expected);
  });
});

describe('sync: usage errors name the flag, the value and the fix', () => {
  test.each<[string, string[], Record<string, string | undefined>, RegExp]>([
    ['unknown flag', [...base, '--region', 'us-south', '--force'], ENV, /unknown flag --force for `key-sync sync`/],
    ['credentials as a flag', [...base, '--region', 'us-south', '--api-key', 'x'], ENV, /unknown flag --api-key/],
    ['missing key id', ['sync', '--instance-id', INST, '--region', 'us-south'], ENV, /--key-id is required/],
    ['empty key id', ['sync', '--instance-id', INST, '--key-id', '', '--region', 'us-south'], ENV, /--key-id is required/],
    ['flag without value', ['sync', '--instance-id', INST, '--key-id'], ENV, /--key-id needs a value/],
    ['switch with a value', [...base, '--region', 'us-south', '--json=yes'], ENV, /--json takes no value/],
    ['positional', [...base, '--region', 'us-south', 'extra'], ENV, /unexpected argument "extra"/],
    ['bad key id', ['sync', '--instance-id', INST, '--key-id', 'not a key!', '--region', 'us-south'], ENV, /--key-id "not a key!" is neither a key UUID nor a valid alias; use/],
    ['reserved alias', ['sync', '--instance-id', INST, '--key-id', 'keys', '--region', 'us-south'], ENV, /--key-id "keys" is a word the key service reserves/],
    ['path traversal', ['sync', '--instance-id', INST, '--key-id', '../../etc', '--region', 'us-south'], ENV, /--key-id "..\/..\/etc" is neither/],
    ['missing instance', ['sync', '--key-id', KEY, '--region', 'us-south'], ENV, /--instance-id is required/],
    ['bad instance', ['sync', '--instance-id', 'abc', '--key-id', KEY, '--region', 'us-south'], ENV, /--instance-id "abc" is not an instance UUID/],
    ['no endpoint', base, ENV, /no endpoint: give --region/],
    ['region and endpoint', [...base, '--region', 'us-south', '--endpoint', 'https://x.example'], ENV, /either --endpoint URL or --region REGION, not both/],
    ['bad region', [...base, '--region', 'mars-1'], ENV, /--region "mars-1" is not a Key Protect region; use one of us-south/],
    ['hpcs region', [...base, '--region', 'jp-osa', '--service', 'hpcs'], ENV, /--region "jp-osa" is not a Hyper Protect Crypto Services region/],
    ['bad service', [...base, '--region', 'us-south', '--service', 'vault'], ENV, /--service "vault" is not a service; use key-protect or hpcs/],
    ['port without hpcs', [...base, '--region', 'us-south', '--port', '9000'], ENV, /--port is only for --service hpcs/],
    ['bad port', [...base, '--region', 'us-south', '--service', 'hpcs', '--port', '80'], ENV, /--port "80" is not an HPCS key-management port; use a whole number from 8000 to 19999/],
    ['port not a number', [...base, '--region', 'us-south', '--service', 'hpcs', '--port', '9k'], ENV, /--port "9k"/],
    ['service without region', [...base, '--endpoint', 'https://x.example', '--service', 'hpcs'], ENV, /go with --region/],
    ['private without region', [...base, '--private'], { ...ENV, IBMCLOUD_KP_API_ENDPOINT: 'http://127.0.0.1:1' }, /need --region/],
    ['http endpoint', [...base, '--endpoint', 'http://kms.example.com'], ENV, /--endpoint "http:\/\/kms.example.com" sends credentials over plain http to the non-loopback host/],
    ['http env endpoint', [...base, '--region', 'us-south'], { ...ENV, IBMCLOUD_KP_API_ENDPOINT: 'http://10.1.2.3' }, /IBMCLOUD_KP_API_ENDPOINT "http:\/\/10.1.2.3" sends credentials over plain http/],
    ['http IAM endpoint', [...base, '--region', 'us-south'], { ...ENV, IBMCLOUD_IAM_API_ENDPOINT: 'http://iam.example.com' }, /IBMCLOUD_IAM_API_ENDPOINT "http:\/\/iam.example.com" sends credentials over plain http/],
    ['bad key ring', [...base, '--region', 'us-south', '--key-ring', 'a b'], ENV, /--key-ring "a b" is not a valid key ring id/],
    ['max-wait not a number', [...base, '--region', 'us-south', '--max-wait', '15m'], ENV, /--max-wait "15m" is not a whole number of seconds; give a whole number/],
    ['max-wait negative', [...base, '--region', 'us-south', '--max-wait', '-1'], ENV, /--max-wait/],
    ['max-wait too big', [...base, '--region', 'us-south', '--max-wait', '999999'], ENV, /--max-wait "999999" is outside 0-86400/],
    ['no credentials', [...base, '--region', 'us-south'], {}, /no IBM Cloud credentials in the environment; export IBMCLOUD_API_KEY/],
    ['blank credentials', [...base, '--region', 'us-south'], { IBMCLOUD_API_KEY: '  ' }, /no IBM Cloud credentials/],
    ['API key with a space', [...base, '--region', 'us-south'], { IBMCLOUD_API_KEY: `${CANARY} x` }, /IBMCLOUD_API_KEY contains spaces/],
    ['token with a newline', [...base, '--region', 'us-south'], { IBMCLOUD_IAM_TOKEN: 'abc\ndef' }, /IBMCLOUD_IAM_TOKEN is not a bearer token/],
    ['bad time scale', [...base, '--region', 'us-south'], { ...ENV, KEY_SYNC_TIME_SCALE: '0' }, /KEY_SYNC_TIME_SCALE "0"/],
    ['bad attempt timeout', [...base, '--region', 'us-south'], { ...ENV, KEY_SYNC_ATTEMPT_TIMEOUT_MS: '1.5' }, /KEY_SYNC_ATTEMPT_TIMEOUT_MS "1.5"/],
  ])('%s', (_n, argv, env, re) => {
    const msg = usageMessage(parseCommand(argv, env));
    expect(msg).toMatch(re);
    expect(msg).not.toContain(CANARY);
  });
});

describe('registrations', () => {
  test('all keys, one key, CRN filter', () => {
    const all = parseCommand(['registrations', '--instance-id', INST, '--region', 'us-south', '--json'], ENV);
    expect(all).toMatchObject({ kind: 'registrations', config: { instanceId: INST, json: true } });
    if (all.kind === 'registrations') expect(all.config.keyId).toBeUndefined();
    const crn = 'crn:v1:bluemix:public:cloud-object-storage:global:a/123:*:bucket:*';
    expect(parseCommand(['registrations', '--instance-id', INST, '--key-id', KEY, '--crn', crn, '--region', 'us-south'], ENV)).toMatchObject({ kind: 'registrations', config: { keyId: KEY, crnQuery: crn } });
  });
  test.each<[string[], RegExp]>([
    [['registrations', '--instance-id', INST, '--region', 'us-south', '--crn', 'bucket'], /--crn "bucket" is not a CRN query/],
    [['registrations', '--instance-id', INST, '--region', 'us-south', '--max-wait', '3'], /unknown flag --max-wait for `key-sync registrations`/],
    [['registrations', '--region', 'us-south'], /--instance-id is required/],
  ])('%j', (argv, re) => {
    expect(usageMessage(parseCommand(argv, ENV))).toMatch(re);
  });
});

test('the overview lists every command, the environment and the exit codes', () => {
  for (const s of ['sync', 'registrations', 'emulator', 'help', 'version', 'key-sync help COMMAND', 'IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_API_ENDPOINT', 'IBMCLOUD_IAM_TOKEN', 'IC_IAM_TOKEN', 'IBMCLOUD_KP_API_ENDPOINT', 'NODE_TLS_REJECT_UNAUTHORIZED', 'KEY_SYNC_TIME_SCALE', '  75 ', '  2 ', '  1 ', '  0 ']) {
    expect(HELP).toContain(s);
  }
  for (const [name] of COMMANDS) expect(HELP).toMatch(new RegExp(`^  ${name} `, 'm'));
});

test('each command has its own help page with its flags and defaults', () => {
  // One vocabulary: attempts in all (was "retried at most 4 times").
  for (const s of ['--max-wait SECONDS', 'default 900', '0 = never wait', '30 s', 'at most 5 times in all', '2 minutes', '--keys-file', '--concurrency', '  75 ', 'IBMCLOUD_API_KEY']) {
    expect(helpText('sync')).toContain(s);
  }
  for (const s of ['--crn CRN-QUERY', '--key-id ID', 'never as a shorter list', '  75 ']) expect(helpText('registrations')).toContain(s);
  expect(helpText('registrations')).not.toContain('--max-wait SECONDS');
});

describe('help per command', () => {
  test.each<[string[], unknown]>([
    [['help', 'sync'], { kind: 'help', topic: 'sync' }],
    [['sync', '--help'], { kind: 'help', topic: 'sync' }],
    [['sync', '-h', '--instance-id', 'x'], { kind: 'help', topic: 'sync' }],
    [['help', 'registrations'], { kind: 'help', topic: 'registrations' }],
    [['registrations', '--help'], { kind: 'help', topic: 'registrations' }],
    [['help', 'rotate'], { kind: 'help', topic: 'rotate' }],
    [['rotate', '--help'], { kind: 'help', topic: 'rotate' }],
    [['help', 'emulator'], { kind: 'emulator', argv: ['--help'] }],
    [['help'], { kind: 'help' }],
  ])('%j', (argv, expected) => {
    expect(parseCommand(argv, {})).toEqual(expected);
  });

  test('help for something that is not a command says which commands there are', () => {
    expect(usageMessage(parseCommand(['help', 'frob'], {}))).toMatch(/no help for "frob": the commands are sync, rotate, status, registrations, report, emulator, help and version/);
  });
  test('no command names every command', () => {
    expect(usageMessage(parseCommand([], {}))).toBe('no command given; the commands are sync, rotate, status, registrations, report, emulator, help and version');
  });
});

describe('rotate', () => {
  const AT = '2026-11-28T21:38:43Z';
  const rot = ['rotate', '--instance-id', INST, '--key-id', KEY, '--generation', '2026-Q4', '--requested-at', AT];
  test.each<[string, string[], Record<string, unknown>]>([
    ['defaults, service from --region', [...rot, '--region', 'us-south'], { keyId: KEY, generation: '2026-Q4', requestedAt: new Date(AT), maxWaitSeconds: DEFAULT_MAX_WAIT_SECONDS, json: false, service: 'key-protect' }],
    ['hpcs from --service', [...rot, '--region', 'us-south', '--service', 'hpcs', '--port', '9730'], { service: 'hpcs', baseUrl: 'https://api.us-south.hs-crypto.cloud.ibm.com:9730' }],
    ['hpcs from the endpoint host', [...rot, '--endpoint', 'https://api.eu-de.hs-crypto.cloud.ibm.com:9000'], { service: 'hpcs' }],
    ['key protect from the endpoint host', [...rot, '--endpoint', 'https://private.eu-de.kms.cloud.ibm.com'], { service: 'key-protect' }],
    ['offset time, max-wait, json, key ring', ['rotate', '--instance-id', INST, '--key-id', 'payments-root', '--generation', '12', '--requested-at', '2026-11-28T22:38:43+01:00', '--region', 'us-south', '--max-wait', '0', '--json', '--key-ring', 'ring-1'], { generation: '12', requestedAt: new Date(AT), maxWaitSeconds: 0, json: true, keyRing: 'ring-1' }],
  ])('%s', (_n, argv, expected) => {
    const c = parseCommand(argv, ENV);
    expect(c.kind).toBe('rotate');
    if (c.kind === 'rotate') expect(c.config).toMatchObject(expected);
  });

  test('an endpoint whose host tells nothing (the emulator): no service in the config (the key\'s CRN tells)', () => {
    const c = parseCommand([...rot, '--endpoint', 'http://127.0.0.1:4000'], ENV);
    expect(c.kind === 'rotate' && c.config.service).toBeUndefined();
  });

  test.each<[string, string[], RegExp]>([
    ['no generation', ['rotate', '--instance-id', INST, '--key-id', KEY, '--requested-at', AT, '--region', 'us-south'], /^--generation is required: the declared generation this rotation is for, e\.g\. --generation 2026-Q4$/],
    ['bad generation', ['rotate', '--instance-id', INST, '--key-id', KEY, '--generation', 'a"b', '--requested-at', AT, '--region', 'us-south'], /^--generation "a"b" contains one of " \\ \$ % \{ \}; use a short readable marker/],
    ['no requested-at', ['rotate', '--instance-id', INST, '--key-id', KEY, '--generation', 'g', '--region', 'us-south'], /^--requested-at is required: the time the generation was first requested \(RFC 3339/],
    ['bad requested-at', [...rot.slice(0, 8), '2026-11-28', '--region', 'us-south'], /^--requested-at "2026-11-28" is not an RFC 3339 date-time; give the time/],
    ['no key', ['rotate', '--instance-id', INST, '--generation', 'g', '--requested-at', AT, '--region', 'us-south'], /^--key-id is required/],
    ['two keys', [...rot, '--key-id', KEY, '--region', 'us-south'], /^--key-id given 2 times; give one key per call$/],
    ['bad max-wait', [...rot, '--region', 'us-south', '--max-wait', '1.5'], /^--max-wait "1.5" is not a whole number of seconds/],
    ['unknown flag', [...rot, '--region', 'us-south', '--force'], /^unknown flag --force for `key-sync rotate`/],
    ['near flag', [...rot, '--region', 'us-south', '--requestedat', AT], /did you mean --requested-at\?/],
  ])('%s', (_n, argv, re) => {
    const c = parseCommand(argv, ENV);
    expect(c).toMatchObject({ kind: 'usage-error', topic: 'rotate' });
    expect(usageMessage(c)).toMatch(re);
  });

  test('sync takes --rotation-requested-at for one key only', () => {
    const c = parseCommand([...base, '--region', 'us-south', '--rotation-requested-at', AT], ENV);
    expect(c).toMatchObject({ kind: 'sync', config: { rotationRequestedAt: new Date(AT) } });
    expect(usageMessage(parseCommand([...base, '--region', 'us-south', '--rotation-requested-at', 'soon'], ENV))).toMatch(/^--rotation-requested-at "soon" is not an RFC 3339 date-time/);
    expect(usageMessage(parseCommand([...base, '--key-id', 'other-key', '--region', 'us-south', '--rotation-requested-at', AT], ENV))).toMatch(/^--rotation-requested-at goes with the sync of one key/);
  });

  test('its help page names the rules, the allowance and the exit codes', () => {
    for (const s of ['--generation G', '--requested-at T', '5-minute allowance', 'KEY_ROTATION_NOT_PERMITTED', 'lastRotateDate + 1 h', 'never repeated blind', 'already-rotated', 'KS_NOT_ROTATABLE', '  75 ', 'default 900']) {
      expect(helpText('rotate')).toContain(s);
    }
    expect(helpText('sync')).toContain('--rotation-requested-at T');
  });
});

describe('near-flag suggestions', () => {
  test.each<[string[], string]>([
    [['sync', '--keyid', KEY], '--key-id'],
    [['sync', '--instanceid', INST], '--instance-id'],
    [['sync', '--max_wait', '0'], '--max-wait'],
    [['sync', '--maxwait=0'], '--max-wait'],
    [['sync', '--all-registred'], '--all-registered'],
    [['registrations', '--kye-id', KEY], '--key-id'],
  ])('%j -> did you mean %s', (argv, near) => {
    expect(usageMessage(parseCommand(argv, ENV))).toContain(`did you mean ${near}?`);
  });
  test('no suggestion for a flag nothing is near', () => {
    expect(usageMessage(parseCommand(['sync', '--frobnicate'], ENV))).toBe('unknown flag --frobnicate for `key-sync sync`');
  });
  test('a command typo gets the near command', () => {
    expect(usageMessage(parseCommand(['snyc'], {}))).toContain('did you mean sync?');
  });
  test.each<[string, string, number]>([
    ['key-id', 'key-id', 0], ['keyid', 'key-id', 1], ['kye-id', 'key-id', 1], ['kitten', 'sitting', 3], ['', 'abc', 3],
  ])('editDistance(%s, %s) = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});
