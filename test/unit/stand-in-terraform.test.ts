import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { emptyState, standInApply } from '../../scripts/lib/stand-in-terraform';

function stack(resources: Record<string, unknown>): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'stand-in-')));
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { null_resource: resources } }));
  return dir;
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
});
