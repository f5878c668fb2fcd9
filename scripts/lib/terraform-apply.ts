/**
 * `terraform apply` (or `tofu apply`) of a synthesized stack directory, for real, with
 * the outcome of each sync resource read back from Terraform's own output: whether the
 * plan created or replaced it and why, what its local-exec printed, and its exit status.
 * Used by the demo when a binary is on PATH and `init` works. Always spawns
 * asynchronously: the emulator that the commands talk to may run in this same process.
 */
import { spawn } from 'node:child_process';
import type { ApplyReport, ResourceApply } from './stand-in-terraform';
import { emptyState, readSyncResources } from './stand-in-terraform';

/** Output and exit status of one Terraform command. */
export interface TerraformRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `binary args...` in `cwd` without blocking the event loop. */
export function runTerraform(binary: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<TerraformRun> {
  return new Promise((resolve) => {
    const child = spawn(binary, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ status: 127, stdout, stderr: `${stderr}${err.message}\n` }));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The plan block Terraform prints for `address` ("# <address> ..." up to the next block). */
function planBlock(stdout: string, address: string): { header: string; body: string } | undefined {
  const m = new RegExp(`^ *# ${escapeRe(address)} (.*)$`, 'm').exec(stdout);
  if (!m) return undefined;
  const rest = stdout.slice(m.index + m[0].length);
  const end = rest.search(/^ *# \S+\.\S+ |^Plan:/m);
  return { header: m[1], body: end < 0 ? rest : rest.slice(0, end) };
}

/** Reads one resource's outcome out of an apply's output. */
export function resourceOutcome(address: string, run: TerraformRun): ResourceApply {
  const block = planBlock(run.stdout, address);
  if (!block) return { address, action: 'no-op', reason: 'unchanged' };
  let action: ResourceApply['action'] = 'replace';
  let reason: string;
  if (/will be created/.test(block.header)) {
    action = 'create';
    reason = 'new';
  } else if (/is tainted/.test(block.header)) {
    reason = 'tainted by a failed provisioner';
  } else {
    const changed = [...block.body.matchAll(/^\s*~ "?([\w.-]+)"?\s+= .* -> /gm)]
      .map((m) => m[1])
      .filter((k) => !['id', 'triggers', 'triggers_replace'].includes(k));
    reason = `triggers changed: ${[...new Set(changed)].sort().join(', ')}`;
  }
  const prefix = `${address} (local-exec): `;
  const stdout = run.stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix) && !l.startsWith(`${prefix}Executing:`))
    .map((l) => l.slice(prefix.length))
    .join('\n');
  let exitCode: number | undefined;
  if (run.stdout.includes(`${address}: Creation complete`)) exitCode = 0;
  else {
    const failed = new RegExp(`with ${escapeRe(address)},[\\s\\S]*?exit status (\\d+)`).exec(run.stderr);
    // Never started (a dependency failed): Terraform leaves it for the next apply.
    if (failed === null && !run.stdout.includes(`${address}: Creating...`)) return { address, action, reason: `${reason}; not run: a dependency failed`, stdout };
    exitCode = failed ? Number(failed[1]) : 1;
  }
  return { address, action, reason, exitCode, stdout };
}

/** `apply -auto-approve` of `stackDir`, with every sync resource's outcome. */
export async function terraformApply(binary: string, stackDir: string, env: NodeJS.ProcessEnv): Promise<ApplyReport & { run: TerraformRun }> {
  const run = await runTerraform(binary, ['apply', '-auto-approve', '-input=false', '-no-color'], stackDir, env);
  const resources = readSyncResources(stackDir).map((r) => resourceOutcome(r.address, run));
  return { resources, state: emptyState(), ok: run.status === 0, run };
}
