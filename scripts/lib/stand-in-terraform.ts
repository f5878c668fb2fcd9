/**
 * A stand-in for `terraform apply` on the machines that have no terraform or tofu
 * binary: it reads a synthesized stack's `cdk.tf.json`, decides which `null_resource`s
 * and `terraform_data`s Terraform would create or replace (new, `triggers` /
 * `triggers_replace` changed, or tainted), and runs each
 * one's `local-exec` provisioner exactly as Terraform does: `/bin/sh -c <command>` (or
 * the declared interpreter), working directory = the stack directory (or `working_dir`),
 * the provisioner's `environment` merged over the process environment. A non-zero exit
 * taints the resource, so the next apply replaces it and runs the command again.
 *
 * It stands in for Terraform only for what our stacks use: besides literals, the
 * `${plantimestamp()}` in a terraform_data's `input` (its `output` then follows the
 * input, kept across applies under `ignore_changes = [input]` until the resource is
 * replaced), references `${terraform_data.<name>.output.<field>}` in a command, and
 * `depends_on`, which orders the resources (a resource whose dependency failed is not
 * run, as in Terraform). Anything else it cannot evaluate (another interpolation `${...}`)
 * is refused with a clear error rather than guessed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** What the stand-in remembers between applies (Terraform's state, reduced). */
export interface StandInState {
  readonly resources: Record<string, StandInResourceState>;
}

export interface StandInResourceState {
  readonly triggers: Record<string, string>;
  readonly tainted: boolean;
  /** A terraform_data's `output` (its input as applied), when it has an input. */
  readonly output?: unknown;
}

/** An empty state: nothing applied yet. */
export function emptyState(): StandInState {
  return { resources: {} };
}

/** What one resource did during an apply. */
export interface ResourceApply {
  readonly address: string;
  readonly action: 'create' | 'replace' | 'no-op';
  /** Why Terraform would act: "new", "tainted", or the trigger keys that changed. */
  readonly reason: string;
  readonly command?: string;
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly durationMs?: number;
}

/** The outcome of one apply. */
export interface ApplyReport {
  readonly resources: readonly ResourceApply[];
  readonly state: StandInState;
  /** True when every provisioner that ran exited 0 (what `terraform apply` reports). */
  readonly ok: boolean;
}

interface LocalExec {
  readonly command: string;
  readonly environment?: Record<string, string>;
  readonly working_dir?: string;
  readonly interpreter?: readonly string[];
  readonly when?: string;
}

interface NullResourceJson {
  readonly triggers?: Record<string, string>;
  readonly depends_on?: readonly string[];
  readonly provisioner?: ReadonlyArray<Record<string, LocalExec>>;
}

interface TerraformDataJson {
  /** Any value; a change of any part of it replaces the resource. */
  readonly triggers_replace?: unknown;
  /** Stored as `output`; strings may be `${plantimestamp()}`. */
  readonly input?: unknown;
  readonly lifecycle?: { readonly ignore_changes?: readonly string[] | 'all' };
  readonly depends_on?: readonly string[];
  readonly provisioner?: ReadonlyArray<Record<string, LocalExec>>;
}

/** A resource the stand-in applies, with its replace-triggers reduced to strings. */
export interface SyncResourceJson {
  /** `null_resource.<name>` or `terraform_data.<name>`. */
  readonly address: string;
  /**
   * `triggers` of a null_resource; the entries of a terraform_data's `triggers_replace`
   * map (non-string values JSON-encoded), or `{ triggers_replace: <JSON> }` when it is
   * not a map. Two applies compare these entry by entry.
   */
  readonly triggers: Record<string, string>;
  readonly provisioner: ReadonlyArray<Record<string, LocalExec>>;
  /** Addresses from `depends_on` (`${x}` or `x`). */
  readonly dependsOn: readonly string[];
  /** A terraform_data's `input`, if any. */
  readonly input?: unknown;
  /** `lifecycle.ignore_changes` holds `input` (or is `all`). */
  readonly ignoreInput: boolean;
}

const INTERPOLATION = /(^|[^$])\$\{/;

function refuseInterpolation(address: string, what: string, value: string): void {
  if (INTERPOLATION.test(value)) {
    throw new Error(
      `${address}: ${what} holds a Terraform expression (${JSON.stringify(value.slice(0, 80))}), ` +
        'which the stand-in cannot evaluate. Fix: apply this stack with terraform or tofu, ' +
        'or declare the inputs as literal values for the stand-in.',
    );
  }
}

/** Terraform renders the template escapes `$${` and `%%{` as `${` and `%{`. */
function unescapeTemplate(s: string): string {
  return s.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

interface StackJson {
  readonly resource?: { null_resource?: Record<string, NullResourceJson>; terraform_data?: Record<string, TerraformDataJson> };
}

function readStack(stackDir: string): StackJson {
  return JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson;
}

/** Reads the `null_resource`s of a synthesized stack directory. */
export function readNullResources(stackDir: string): Record<string, NullResourceJson> {
  return readStack(stackDir).resource?.null_resource ?? {};
}

function asTriggerString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
}

function triggersReplaceEntries(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, asTriggerString(v)]));
  }
  return { triggers_replace: asTriggerString(value) };
}

/**
 * Reads every resource the stand-in applies (`null_resource` and `terraform_data`) of a
 * synthesized stack directory, in address order.
 */
export function readSyncResources(stackDir: string): SyncResourceJson[] {
  const resource = readStack(stackDir).resource ?? {};
  const all: SyncResourceJson[] = [
    ...Object.entries(resource.null_resource ?? {}).map(([name, r]) => ({
      address: `null_resource.${name}`,
      triggers: Object.fromEntries(Object.entries(r.triggers ?? {}).map(([k, v]) => [k, asTriggerString(v)])),
      provisioner: r.provisioner ?? [],
      dependsOn: addresses(r.depends_on),
      ignoreInput: false,
    })),
    ...Object.entries(resource.terraform_data ?? {}).map(([name, r]) => {
      const ignore = r.lifecycle?.ignore_changes;
      return {
        address: `terraform_data.${name}`,
        triggers: triggersReplaceEntries(r.triggers_replace),
        provisioner: r.provisioner ?? [],
        dependsOn: addresses(r.depends_on),
        ...(r.input === undefined ? {} : { input: r.input }),
        ignoreInput: ignore === 'all' || (Array.isArray(ignore) && ignore.includes('input')),
      };
    }),
  ];
  return all.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** `depends_on` entries as addresses (`${null_resource.x}` and `null_resource.x` alike). */
function addresses(list: readonly string[] | undefined): string[] {
  return (list ?? []).map((d) => d.replace(/^\$\{(.*)\}$/, '$1'));
}

/** `${terraform_data.<name>.output.<field>}` (or `.output` alone) in a command. */
const OUTPUT_REF = /\$\{terraform_data\.([A-Za-z0-9_-]+)\.output(?:\.([A-Za-z0-9_-]+))?\}/g;

/** Addresses a command refers to. */
function referencedAddresses(command: string): string[] {
  return [...command.matchAll(OUTPUT_REF)].map((m) => `terraform_data.${m[1]}`);
}

/**
 * The resources in the order Terraform would apply them: every resource after what it
 * depends on (depends_on and references in its commands), address order otherwise.
 */
export function applyOrder(resources: readonly SyncResourceJson[]): SyncResourceJson[] {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const deps = new Map(resources.map((r) => {
    const refs = r.provisioner.flatMap((p) => (p['local-exec'] === undefined ? [] : referencedAddresses(p['local-exec'].command)));
    return [r.address, [...new Set([...r.dependsOn, ...refs])].filter((a) => byAddress.has(a))];
  }));
  const done = new Set<string>();
  const order: SyncResourceJson[] = [];
  while (order.length < resources.length) {
    const ready = resources.find((r) => !done.has(r.address) && (deps.get(r.address) ?? []).every((d) => done.has(d)));
    if (ready === undefined) throw new Error(`depends_on forms a cycle among ${resources.filter((r) => !done.has(r.address)).map((r) => r.address).join(', ')}`);
    done.add(ready.address);
    order.push(ready);
  }
  return order;
}

/** Dependencies of a resource (for skipping it when one failed). */
function dependenciesOf(r: SyncResourceJson): string[] {
  const refs = r.provisioner.flatMap((p) => (p['local-exec'] === undefined ? [] : referencedAddresses(p['local-exec'].command)));
  return [...new Set([...r.dependsOn, ...refs])];
}

/** `plantimestamp()` as Terraform prints it: RFC 3339 UTC, whole seconds. */
export function planTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A terraform_data `input` evaluated: `${plantimestamp()}` (whole string) becomes the plan time. */
function evaluateInput(address: string, input: unknown, plantimestamp: string): unknown {
  if (typeof input === 'string') {
    if (input === '${plantimestamp()}') return plantimestamp;
    refuseInterpolation(address, 'input', input);
    return input;
  }
  if (Array.isArray(input)) return input.map((v) => evaluateInput(address, v, plantimestamp));
  if (input !== null && typeof input === 'object') {
    return Object.fromEntries(Object.entries(input as Record<string, unknown>).map(([k, v]) => [k, evaluateInput(address, v, plantimestamp)]));
  }
  return input;
}

/** Replaces `${terraform_data.X.output.F}` in a command with the applied output. */
function substituteOutputs(address: string, command: string, state: Record<string, StandInResourceState>): string {
  return command.replace(OUTPUT_REF, (whole, name: string, field: string | undefined) => {
    const out = state[`terraform_data.${name}`]?.output;
    const value = field === undefined ? out : out !== null && typeof out === 'object' ? (out as Record<string, unknown>)[field] : undefined;
    if (typeof value !== 'string') throw new Error(`${address}: local-exec command refers to ${whole}, which has no string value in the state. Fix: apply this stack with terraform or tofu`);
    return value;
  });
}

function changedTriggers(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}

/** Runs one command as local-exec does and collects its output. */
export function runLocalExec(
  exec: LocalExec,
  stackDir: string,
  baseEnv: NodeJS.ProcessEnv,
): Promise<{ exitCode: number; stdout: string; stderr: string; durationMs: number }> {
  const [file, ...args] = exec.interpreter && exec.interpreter.length > 0 ? exec.interpreter : ['/bin/sh', '-c'];
  const cwd = exec.working_dir ? path.resolve(stackDir, exec.working_dir) : stackDir;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args, exec.command], {
      cwd,
      env: { ...baseEnv, ...(exec.environment ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, durationMs: Date.now() - started }),
    );
  });
}

/**
 * Plans and applies a stack directory against a previous state, like `terraform apply
 * -auto-approve` would for `null_resource`s and `terraform_data`s with create-time
 * local-exec provisioners. Resources of other types are not looked at; resources in the
 * previous state that the stack no longer declares are dropped (destroyed, with no
 * destroy-time provisioner run).
 * Resources run one after another, in address order, so output is deterministic.
 */
export async function standInApply(
  stackDir: string,
  previous: StandInState,
  env: NodeJS.ProcessEnv = process.env,
  opts: { readonly now?: () => number } = {},
): Promise<ApplyReport> {
  const next: Record<string, StandInResourceState> = {};
  const report: ResourceApply[] = [];
  /** Resources whose apply failed or did not run this time. */
  const failedOrSkipped = new Set<string>();
  // One plan: one plantimestamp() for every resource.
  const plantimestamp = planTimestamp((opts.now ?? Date.now)());
  for (const res of applyOrder(readSyncResources(stackDir))) {
    const { address, triggers } = res;
    for (const [k, v] of Object.entries(triggers)) refuseInterpolation(address, `trigger "${k}"`, v);
    const before = previous.resources[address];
    let action: ResourceApply['action'];
    let reason: string;
    if (!before) {
      action = 'create';
      reason = 'new';
    } else if (before.tainted) {
      action = 'replace';
      reason = 'tainted by a failed provisioner';
    } else {
      const changed = changedTriggers(before.triggers, triggers);
      action = changed.length > 0 ? 'replace' : 'no-op';
      reason = changed.length > 0 ? `triggers changed: ${changed.join(', ')}` : 'unchanged';
    }
    if (action === 'no-op') {
      // An input not under ignore_changes is updated in place (no provisioner runs).
      const updated = res.input !== undefined && !res.ignoreInput ? { output: evaluateInput(address, res.input, plantimestamp) } : {};
      next[address] = { ...before!, tainted: false, ...updated };
      report.push({ address, action, reason });
      continue;
    }
    const blocked = dependenciesOf(res).find((d) => failedOrSkipped.has(d));
    if (blocked !== undefined) {
      // Terraform does not apply a resource whose dependency failed: it stays as it was.
      if (before !== undefined) next[address] = before;
      failedOrSkipped.add(address);
      report.push({ address, action, reason: `${reason}; not run: ${blocked} failed` });
      continue;
    }
    // Created or replaced: the input is evaluated afresh (ignore_changes only keeps it on update).
    const output = res.input === undefined ? undefined : evaluateInput(address, res.input, plantimestamp);
    const execs = res.provisioner
      .map((p) => p['local-exec'])
      .filter((e): e is LocalExec => e !== undefined && (e.when === undefined || e.when === 'create'));
    let failed: ResourceApply | undefined;
    let last: ResourceApply = { address, action, reason };
    for (const exec of execs) {
      const command = substituteOutputs(address, exec.command, next);
      refuseInterpolation(address, 'local-exec command', command);
      const r = await runLocalExec({ ...exec, command: unescapeTemplate(command) }, stackDir, env);
      last = { address, action, reason, command: exec.command, ...r };
      if (r.exitCode !== 0) {
        failed = last;
        break;
      }
    }
    next[address] = { triggers, tainted: failed !== undefined, ...(output === undefined ? {} : { output }) };
    if (failed !== undefined) failedOrSkipped.add(address);
    report.push(failed ?? last);
  }
  return {
    resources: report,
    state: { resources: next },
    ok: failedOrSkipped.size === 0 && report.every((r) => r.exitCode === undefined || r.exitCode === 0),
  };
}
