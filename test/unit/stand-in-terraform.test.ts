import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { emptyState, standInApply } from '../../scripts/lib/stand-in-terraform';

function stack(resources: Record<string, unknown>, terraformData?: Record<string, unknown>): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'stand-in-')));
  const resource = { null_resource: resources, ...(terraformData ? { terraform_data: terraformData } : {}) };
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ resource }));
  return dir;
}

function terraformData(triggersReplace: unknown, command: string) {
  return { triggers_replace: triggersReplace, provisioner: [{ 'local-exec': { command } }] };
}

function nullResource(triggers: Record<string, string>, command: string, environment?: Record<string, string>) {
  return { triggers, provisioner: [{ 'local-exec': { command, ...(environment ? { environment } : {}) } }] };
}

describe('stand-in terraform apply', () => {
  test('creates new resources by running the command in the stack dir with the provisioner environment', async () => {
    const dir = stack({ a: nullResource({ h: '1' }, 'printf "%s|%s|%s" "$PWD" "$FROM_PROVISIONER" "$FROM_PROCESS"', { FROM_PROVISIONER: 'p' }) });
    const r = await standInApply(dir, emptyState(), { PATH: process.env.PATH, FROM_PROCESS: 'q', FROM_PROVISIONER: 'overridden' });
    expect(r.ok).toBe(true);
    expect(r.resources).toEqual([expect.objectContaining({ address: 'null_resource.a', action: 'create', reason: 'new', exitCode: 0, stdout: `${dir}|p|q` })]);
    expect(r.state.resources['null_resource.a']).toEqual({ triggers: { h: '1' }, tainted: false });
  });

  test('unchanged triggers are a no-op; a changed trigger replaces and names the trigger', async () => {
    const first = await standInApply(stack({ a: nullResource({ h: '1', k: 'x' }, 'true'), b: nullResource({ h: '2' }, 'true') }), emptyState());
    const second = await standInApply(stack({ a: nullResource({ h: '1', k: 'x' }, 'true'), b: nullResource({ h: '3' }, 'echo again') }), first.state);
    expect(second.resources.map((r) => [r.address, r.action, r.reason])).toEqual([
      ['null_resource.a', 'no-op', 'unchanged'],
      ['null_resource.b', 'replace', 'triggers changed: h'],
    ]);
    expect(second.resources[1].stdout).toBe('again\n');
  });

  test('a failing provisioner taints the resource and the next apply replaces it', async () => {
    const dir = stack({ a: nullResource({ h: '1' }, 'echo gated >&2; exit 75') });
    const first = await standInApply(dir, emptyState());
    expect(first.ok).toBe(false);
    expect(first.resources[0]).toEqual(expect.objectContaining({ exitCode: 75, stderr: 'gated\n' }));
    expect(first.state.resources['null_resource.a'].tainted).toBe(true);
    const second = await standInApply(dir, first.state);
    expect(second.resources[0]).toEqual(expect.objectContaining({ action: 'replace', reason: 'tainted by a failed provisioner', exitCode: 75 }));
  });

  test('refuses Terraform expressions it cannot evaluate, but accepts the $${ escape', async () => {
    await expect(standInApply(stack({ a: nullResource({ h: '${sha256("x")}' }, 'true') }), emptyState())).rejects.toThrow(
      /null_resource\.a: trigger "h" holds a Terraform expression .*Fix: apply this stack with terraform or tofu/,
    );
    const ok = await standInApply(stack({ a: nullResource({ h: '1' }, 'printf %s "$${SHELL_VAR:-unset}"') }), emptyState(), { PATH: process.env.PATH, SHELL_VAR: 'expanded' });
    expect(ok.resources[0]).toEqual(expect.objectContaining({ exitCode: 0, stdout: 'expanded' }));
  });

  describe('terraform_data (triggers_replace)', () => {
    test('same semantics as null_resource: create, no-op, replace naming the changed entries, taint and retry', async () => {
      const first = await standInApply(stack({}, { a: terraformData({ sync_hash: '1', key_rotation: 'x' }, 'printf "%s" "$PWD"') }), emptyState());
      expect(first.resources).toEqual([expect.objectContaining({ address: 'terraform_data.a', action: 'create', reason: 'new', exitCode: 0 })]);
      expect(first.state.resources['terraform_data.a']).toEqual({ triggers: { sync_hash: '1', key_rotation: 'x' }, tainted: false });
      const same = await standInApply(stack({}, { a: terraformData({ key_rotation: 'x', sync_hash: '1' }, 'exit 9') }), first.state);
      expect(same.resources.map((r) => [r.action, r.reason])).toEqual([['no-op', 'unchanged']]);
      const changed = await standInApply(stack({}, { a: terraformData({ sync_hash: '2', key_rotation: 'y' }, 'exit 75') }), same.state);
      expect(changed.resources[0]).toEqual(expect.objectContaining({ action: 'replace', reason: 'triggers changed: key_rotation, sync_hash', exitCode: 75 }));
      expect(changed.ok).toBe(false);
      expect(changed.state.resources['terraform_data.a'].tainted).toBe(true);
      const retried = await standInApply(stack({}, { a: terraformData({ sync_hash: '2', key_rotation: 'y' }, 'true') }), changed.state);
      expect(retried.resources[0]).toEqual(expect.objectContaining({ action: 'replace', reason: 'tainted by a failed provisioner', exitCode: 0 }));
      expect(retried.state.resources['terraform_data.a'].tainted).toBe(false);
    });

    test('a non-map triggers_replace, and non-string entries, compare by value', async () => {
      const first = await standInApply(stack({}, { s: terraformData('v1', 'true'), n: terraformData({ count: 2, list: ['a'] }, 'true') }), emptyState());
      expect(first.state.resources['terraform_data.s'].triggers).toEqual({ triggers_replace: 'v1' });
      expect(first.state.resources['terraform_data.n'].triggers).toEqual({ count: '2', list: '["a"]' });
      const second = await standInApply(stack({}, { s: terraformData('v2', 'true'), n: terraformData({ count: 2, list: ['a'] }, 'true') }), first.state);
      expect(second.resources.map((r) => [r.address, r.action, r.reason])).toEqual([
        ['terraform_data.n', 'no-op', 'unchanged'],
        ['terraform_data.s', 'replace', 'triggers changed: triggers_replace'],
      ]);
    });

    test('null_resource and terraform_data in one stack run in address order; the null one keeps its own state entry', async () => {
      const r = await standInApply(stack({ k: nullResource({ h: '1' }, 'echo null') }, { k: terraformData({ h: '1' }, 'echo data') }), emptyState());
      expect(r.resources.map((x) => [x.address, x.stdout])).toEqual([
        ['null_resource.k', 'null\n'],
        ['terraform_data.k', 'data\n'],
      ]);
      expect(Object.keys(r.state.resources).sort()).toEqual(['null_resource.k', 'terraform_data.k']);
    });

    test('refuses a Terraform expression in triggers_replace', async () => {
      await expect(standInApply(stack({}, { a: terraformData({ h: '${sha256("x")}' }, 'true') }), emptyState())).rejects.toThrow(
        /terraform_data\.a: trigger "h" holds a Terraform expression/,
      );
    });
  });
});

describe('stand-in: what a KeyRotation synthesizes (plantimestamp, ignore_changes, output references, depends_on)', () => {
  const record = (generation: string, ignore = true) => ({
    input: { requested_at: '${plantimestamp()}' },
    triggers_replace: { generation },
    ...(ignore ? { lifecycle: { ignore_changes: ['input'] } } : {}),
  });
  const rotate = (generation: string, exit = 0) => ({
    triggers_replace: { generation },
    depends_on: ['${terraform_data.rec}'],
    provisioner: [{ 'local-exec': { command: `echo "at '\${terraform_data.rec.output.requested_at}'"; exit ${exit}` } }],
  });
  const sync = { triggers: { h: '1' }, depends_on: ['${terraform_data.rot}'], provisioner: [{ 'local-exec': { command: 'echo synced' } }] };
  let clock = Date.parse('2026-11-28T20:00:00.600Z');
  const now = (): number => clock;

  test('the record is applied first, its time reaches the command, and the dependent sync runs last', async () => {
    const r = await standInApply(stack({ s: sync }, { rot: rotate('a'), rec: record('a') }), emptyState(), process.env, { now });
    expect(r.resources.map((x) => x.address)).toEqual(['terraform_data.rec', 'terraform_data.rot', 'null_resource.s']);
    expect(r.resources[1]).toEqual(expect.objectContaining({ exitCode: 0, stdout: "at '2026-11-28T20:00:00Z'\n" }));
    expect(r.state.resources['terraform_data.rec']?.output).toEqual({ requested_at: '2026-11-28T20:00:00Z' });
  });

  test('a failed rotation keeps the recorded time for its retry; the dependent sync is not run; a new generation records a new time', async () => {
    clock = Date.parse('2026-11-28T20:00:00Z');
    const first = await standInApply(stack({ s: sync }, { rot: rotate('a', 75), rec: record('a') }), emptyState(), process.env, { now });
    expect(first.ok).toBe(false);
    expect(first.resources.map((x) => [x.address, x.exitCode, x.reason])).toEqual([
      ['terraform_data.rec', undefined, 'new'],
      ['terraform_data.rot', 75, 'new'],
      ['null_resource.s', undefined, 'new; not run: terraform_data.rot failed'],
    ]);
    expect(first.state.resources['null_resource.s']).toBeUndefined();
    clock += 3600_000;
    const retry = await standInApply(stack({ s: sync }, { rot: rotate('a'), rec: record('a') }), first.state, process.env, { now });
    expect(retry.resources.map((x) => [x.address, x.action])).toEqual([
      ['terraform_data.rec', 'no-op'],
      ['terraform_data.rot', 'replace'],
      ['null_resource.s', 'create'],
    ]);
    expect(retry.resources[1]?.stdout).toBe("at '2026-11-28T20:00:00Z'\n");
    clock += 60_000;
    const bump = await standInApply(stack({ s: sync }, { rot: rotate('b'), rec: record('b') }), retry.state, process.env, { now });
    expect(bump.resources.map((x) => [x.address, x.action])).toEqual([
      ['terraform_data.rec', 'replace'],
      ['terraform_data.rot', 'replace'],
      ['null_resource.s', 'no-op'],
    ]);
    expect(bump.resources[1]?.stdout).toBe("at '2026-11-28T21:01:00Z'\n");
  });

  test('without ignore_changes the input is updated in place on every apply (no provisioner runs)', async () => {
    clock = Date.parse('2026-11-28T20:00:00Z');
    const first = await standInApply(stack({}, { rec: record('a', false) }), emptyState(), process.env, { now });
    clock += 5000;
    const second = await standInApply(stack({}, { rec: record('a', false) }), first.state, process.env, { now });
    expect(second.resources[0]?.action).toBe('no-op');
    expect(second.state.resources['terraform_data.rec']?.output).toEqual({ requested_at: '2026-11-28T20:00:05Z' });
  });

  test('refuses other expressions in an input or a command, and a depends_on cycle', async () => {
    await expect(standInApply(stack({}, { rec: { input: { t: '${timestamp()}' } } }), emptyState())).rejects.toThrow(/terraform_data\.rec: input holds a Terraform expression/);
    await expect(standInApply(stack({ s: { triggers: {}, provisioner: [{ 'local-exec': { command: 'echo ${null_resource.x.id}' } }] } }), emptyState())).rejects.toThrow(/null_resource\.s: local-exec command holds a Terraform expression/);
    await expect(standInApply(stack({ a: { triggers: {}, depends_on: ['null_resource.b'] }, b: { triggers: {}, depends_on: ['null_resource.a'] } }), emptyState())).rejects.toThrow(/depends_on forms a cycle among null_resource\.a, null_resource\.b/);
  });
});
