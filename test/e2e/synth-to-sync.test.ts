/**
 * End to end without a terraform binary: synthesize a stack built with the public
 * constructs, copy the stack directory elsewhere, and run what Terraform would run (the
 * stand-in executes each local-exec exactly as Terraform does: /bin/sh -c, cwd = stack
 * directory) against the emulator over real HTTP on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { emptyState, runLocalExec, standInApply, type ApplyReport } from '../../scripts/lib/stand-in-terraform';
import { DEFAULT_SEED, DEMO_API_KEY } from '../../src/emulator/seed';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import {
  ANALYTICS,
  cleanup,
  copyStack,
  filesUnder,
  gateTimes,
  PAST_THE_GATE_MS,
  PAYMENTS,
  ROTATION_1,
  ROTATION_2,
  runnerEnv,
  stackJson,
  syncPath,
  syncRequests,
  synthStack,
  tempDir,
} from './helpers';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

let emu: RunningEmulator;
let dirs: string[];

beforeEach(async () => {
  emu = await startEmulator({ port: 0 });
  dirs = [];
});
afterEach(async () => {
  await emu.close();
  cleanup(dirs);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

/** What the stand-in printed for one resource, for failure messages and output checks. */
function outputOf(r: ApplyReport, address: string): string {
  const x = r.resources.find((y) => y.address === address);
  if (!x) throw new Error(`no ${address} in ${JSON.stringify(r.resources.map((y) => y.address))}`);
  return `${x.stdout ?? ''}${x.stderr ?? ''}`;
}

function summary(r: ApplyReport): Array<[string, string, number | undefined]> {
  return r.resources.map((x) => [x.address, x.action, x.exitCode]);
}

describe('synth -> copied stack directory -> synthesized command -> emulator', () => {
  test('the command of each KeySync, run as local-exec would from a copy of the stack dir, gets 204 with the right request', async () => {
    const stackDir = synthStack(dir('out'), { emulatorUrl: emu.url });
    const copy = copyStack(stackDir, path.join(dir('copy'), 'stack'));
    const json = stackJson(copy);
    const resources = json.resource.null_resource ?? {};
    expect(Object.keys(resources).sort()).toEqual([ANALYTICS.resource, PAYMENTS.resource]);

    const env = runnerEnv(emu.url);
    expect(Object.keys(env).filter((k) => k.startsWith('IBMCLOUD_')).sort()).toEqual(['IBMCLOUD_API_KEY', 'IBMCLOUD_IAM_API_ENDPOINT']);
    expect(env.IBMCLOUD_API_KEY).toBe(DEMO_API_KEY);

    for (const [name, key] of [[PAYMENTS.resource, PAYMENTS], [ANALYTICS.resource, ANALYTICS]] as const) {
      const exec = resources[name].provisioner[0]['local-exec'];
      expect(exec.environment).toBeUndefined();
      emu.clearLog();
      const r = await runLocalExec(exec, copy, env);
      expect({ name, exitCode: r.exitCode, out: r.stdout + r.stderr }).toEqual({ name, exitCode: 0, out: expect.stringContaining(`synced key ${key.keyId}`) });

      const syncs = syncRequests(emu);
      expect(syncs).toHaveLength(1);
      const [s] = syncs;
      expect(s).toEqual(expect.objectContaining({ method: 'POST', path: syncPath(key.keyId), status: 204, instance: key.instanceId, bodyBytes: 0 }));
      expect(s.correlationId).toMatch(UUID_V4);
      if ('keyRing' in key) expect(s.keyRing).toBe(key.keyRing);
      else expect(s).not.toHaveProperty('keyRing');
      // the API key was exchanged for a token at the emulator's IAM endpoint
      expect(emu.log().filter((e) => e.route === 'iam.token').map((e) => e.status)).toEqual([200]);
      // the CLI printed the correlation id it sent, so a CI log can be matched with the service's
      expect(r.stdout + r.stderr).toContain(s.correlationId as string);
    }
  });

  test('the stand-in applies the copied directory: both syncs created, two 204s, nothing left to do on the next apply', async () => {
    const copy = copyStack(synthStack(dir('out'), { emulatorUrl: emu.url }), path.join(dir('copy'), 'stack'));
    const env = runnerEnv(emu.url);
    const first = await standInApply(copy, emptyState(), env);
    expect(summary(first)).toEqual([
      [`null_resource.${ANALYTICS.resource}`, 'create', 0],
      [`null_resource.${PAYMENTS.resource}`, 'create', 0],
    ]);
    expect(syncRequests(emu).map((e) => [e.path, e.status])).toEqual([
      [syncPath(ANALYTICS.keyId), 204],
      [syncPath(PAYMENTS.keyId), 204],
    ]);
    const second = await standInApply(copy, first.state, env);
    expect(summary(second)).toEqual([
      [`null_resource.${ANALYTICS.resource}`, 'no-op', undefined],
      [`null_resource.${PAYMENTS.resource}`, 'no-op', undefined],
    ]);
    expect(syncRequests(emu)).toHaveLength(2);
  });
});

describe('a declared change re-syncs only the key it concerns', () => {
  test("only the changed key's sync_hash differs, the other resource is byte for byte the same, and only it is replaced", async () => {
    const outdir = dir('out');
    const env = runnerEnv(emu.url);
    const stackDir = synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_1 });
    const before = readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    const first = await standInApply(stackDir, emptyState(), env);
    expect(first.ok).toBe(true);

    synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_2 });
    const after = readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    const b = (JSON.parse(before) as ReturnType<typeof stackJson>).resource.null_resource ?? {};
    const a = (JSON.parse(after) as ReturnType<typeof stackJson>).resource.null_resource ?? {};
    // unchanged key: its whole resource JSON, byte for byte (triggers, command, asset path)
    expect(JSON.stringify(a[ANALYTICS.resource], null, 2)).toBe(JSON.stringify(b[ANALYTICS.resource], null, 2));
    const text = (r: unknown) => JSON.stringify(r, null, 2).split('\n').map((l) => `      ${l}`).join('\n').trimStart();
    expect(before).toContain(text(b[ANALYTICS.resource]));
    expect(after).toContain(text(b[ANALYTICS.resource]));
    // changed key: exactly the hash and the readable marker moved
    const changed = Object.keys(a[PAYMENTS.resource].triggers ?? {}).filter((k) => a[PAYMENTS.resource].triggers?.[k] !== b[PAYMENTS.resource].triggers?.[k]);
    expect(changed.sort()).toEqual(['key_rotation', 'sync_hash']);
    expect(a[PAYMENTS.resource].triggers?.key_rotation).toBe(ROTATION_2);
    expect(a[PAYMENTS.resource].provisioner).toEqual(b[PAYMENTS.resource].provisioner);

    emu.clock.advance(PAST_THE_GATE_MS); // the first sync closed the key's gate for an hour
    emu.clearLog();
    const second = await standInApply(stackDir, first.state, env);
    expect(second.resources.map((r) => [r.address, r.action, r.reason, r.exitCode])).toEqual([
      [`null_resource.${ANALYTICS.resource}`, 'no-op', 'unchanged', undefined],
      [`null_resource.${PAYMENTS.resource}`, 'replace', 'triggers changed: key_rotation, sync_hash', 0],
    ]);
    expect(syncRequests(emu).map((e) => [e.path, e.status, e.keyRing])).toEqual([[syncPath(PAYMENTS.keyId), 204, PAYMENTS.keyRing]]);
  });
});

describe('the time gate', () => {
  test('a second sync inside the gate period exits 75 with the gate time and taints; past the gate the retried apply exits 0', async () => {
    const outdir = dir('out');
    const env = runnerEnv(emu.url);
    const stackDir = synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_1 });
    const first = await standInApply(stackDir, emptyState(), env);
    expect(first.ok).toBe(true);

    synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_2 });
    const gated = await standInApply(stackDir, first.state, env);
    const address = `null_resource.${PAYMENTS.resource}`;
    expect(summary(gated)).toEqual([
      [`null_resource.${ANALYTICS.resource}`, 'no-op', undefined],
      [address, 'replace', 75],
    ]);
    expect(gated.ok).toBe(false);
    const out = outputOf(gated, address);
    const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
    expect(out).toContain(gate.human);
    expect(out).toMatch(/REQ_TOO_EARLY_ERR|time gate/);
    expect(gated.state.resources[address]).toEqual({ triggers: expect.objectContaining({ key_rotation: ROTATION_2 }), tainted: true });
    expect(syncRequests(emu).map((e) => e.status)).toEqual([204, 204, 409]);

    // still inside the gate: the tainted resource is retried and gated again
    const again = await standInApply(stackDir, gated.state, env);
    expect(again.resources[1]).toEqual(expect.objectContaining({ action: 'replace', reason: 'tainted by a failed provisioner', exitCode: 75 }));

    emu.clock.advance(PAST_THE_GATE_MS);
    const retried = await standInApply(stackDir, again.state, env);
    expect(summary(retried)).toEqual([
      [`null_resource.${ANALYTICS.resource}`, 'no-op', undefined],
      [address, 'replace', 0],
    ]);
    expect(retried.resources[1].reason).toBe('tainted by a failed provisioner');
    expect(retried.state.resources[address].tainted).toBe(false);
    expect(syncRequests(emu).map((e) => e.status)).toEqual([204, 204, 409, 409, 204]);
  });
});

describe('credentials stay in the runner environment', () => {
  test('a canary API key used through synth and apply appears in no file, no output and not in the emulator log', async () => {
    await emu.close();
    const canary = `CANARY-apikey-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [canary] } });
    const saved = process.env.IBMCLOUD_API_KEY;
    process.env.IBMCLOUD_API_KEY = canary; // as on a CI runner where synth and apply share the environment
    let outdir: string;
    let stackDir: string;
    try {
      outdir = dir('out');
      stackDir = synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_1 });
    } finally {
      if (saved === undefined) delete process.env.IBMCLOUD_API_KEY;
      else process.env.IBMCLOUD_API_KEY = saved;
    }
    const env = runnerEnv(emu.url, canary);
    const reports: ApplyReport[] = [];
    reports.push(await standInApply(stackDir, emptyState(), env));
    synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_2 });
    reports.push(await standInApply(stackDir, reports[0].state, env)); // gated: the error path prints too
    expect(reports.map((r) => r.ok)).toEqual([true, false]);
    // the demo key is not accepted by this emulator: the CLI really used the canary
    expect(emu.log().filter((e) => e.route === 'iam.token').every((e) => e.status === 200)).toBe(true);
    expect(syncRequests(emu).map((e) => e.status)).toEqual([204, 204, 409]);

    const prefix = 'CANARY-apikey';
    for (const f of filesUnder(outdir)) {
      const text = readFileSync(f, 'latin1');
      expect({ file: path.relative(outdir, f), leaked: text.includes(prefix) }).toEqual({ file: path.relative(outdir, f), leaked: false });
    }
    for (const r of reports.flatMap((x) => x.resources)) {
      for (const out of [r.stdout ?? '', r.stderr ?? '', r.command ?? '']) {
        expect(out).not.toContain(prefix);
        expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/); // no token either
      }
    }
    const log = JSON.stringify(emu.log());
    expect(log).not.toContain(prefix);
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/);
  });
});
