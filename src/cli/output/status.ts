/** A version-status run: the table for people and the --json object for machines. Pure. */
import type { Verdict } from '../../client/version-status';
import type { KeyStatus, StatusRun } from '../status-runner';
import { registrationsMessage } from './registrations';
import { describeFailure, duration, plural, type Subject } from './words';

export interface StatusContext {
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly credentialEnv: string;
  readonly extraCaCerts: boolean;
  readonly graceHours: number;
}

const VERDICTS: readonly Verdict[] = ['current', 'catching-up', 'behind', 'no-registrations', 'unknown'];

function verdictOf(k: KeyStatus): Verdict {
  return k.status?.verdict ?? 'unknown';
}

/** Why a key's status is unknown, in words. */
export function unknownReason(k: KeyStatus, c: StatusContext): string | undefined {
  if (k.failedCall?.failure !== undefined) {
    const s: Subject = { action: k.failedCall.what === 'key' ? 'read' : 'list', instanceId: c.instanceId, keyId: k.keyId, credentialEnv: c.credentialEnv, ...(c.keyRing === undefined ? {} : { keyRing: c.keyRing }) };
    return describeFailure(k.failedCall.failure, s, { retryLater: k.failedCall.retryLater, extraCaCerts: c.extraCaCerts, attemptsMade: k.failedCall.attempts, ...(k.failedCall.remembered === true ? { remembered: true } : {}) });
  }
  if (k.status?.unknownBecause === 'no-key-version') return 'the key service named no current version for the key';
  return undefined;
}

/** One sentence on a key's verdict (used by `status` and by `sync --if-behind` for keys it leaves alone). */
export function verdictSentence(k: KeyStatus, c: StatusContext): string {
  const s = k.status;
  switch (verdictOf(k)) {
    case 'current':
      return `all ${plural(s?.registrations ?? 0, 'registration')} on the current version`;
    case 'catching-up':
      return `${s?.lagging.length ?? 0} of ${plural(s?.registrations ?? 0, 'registration')} not yet on the current version, within the ${c.graceHours} h grace period since the key changed`;
    case 'behind':
      return `${s?.lagging.length ?? 0} of ${plural(s?.registrations ?? 0, 'registration')} not on the current version${s?.changedAt === undefined ? '' : `, ${c.graceHours} h grace period past`}`;
    case 'no-registrations':
      return 'no registrations: nothing to notify';
    case 'unknown':
      return unknownReason(k, c) ?? 'could not be determined';
  }
}

/** The --json object of a status run. */
export function statusJson(run: StatusRun, c: StatusContext, exitCode: number): Record<string, unknown> {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, run.keys.filter((k) => verdictOf(k) === v).length]));
  return {
    instanceId: c.instanceId,
    graceHours: c.graceHours,
    exitCode,
    ...(run.listing !== undefined && run.listing.outcome !== 'listed'
      ? { listing: { outcome: run.listing.outcome, code: run.listing.code, message: registrationsMessage(run.listing, { instanceId: c.instanceId, credentialEnv: c.credentialEnv, extraCaCerts: c.extraCaCerts }) } }
      : {}),
    counts,
    requests: run.requests,
    keys: run.keys.map((k) => {
      const s = k.status;
      return {
        keyId: k.keyId,
        ...(k.uuid === undefined || k.uuid === k.keyId ? {} : { uuid: k.uuid }),
        verdict: verdictOf(k),
        ...(s?.state === undefined ? {} : { state: s.state }),
        ...(s?.currentVersion === undefined ? {} : { currentVersion: s.currentVersion }),
        ...(s?.lastRotateDate === undefined ? {} : { lastRotateDate: s.lastRotateDate }),
        registrations: s?.registrations ?? null,
        onCurrentVersion: s?.onCurrentVersion ?? null,
        lagging: (s?.lagging ?? []).map((l) => ({ ...l, ...(l.behindForMs === undefined ? {} : { behindForMs: Math.round(l.behindForMs) }) })),
        ...(k.failedCall === undefined ? {} : { code: k.failedCall.code, retryLater: k.failedCall.retryLater, correlationId: k.failedCall.correlationId }),
        message: verdictSentence(k, c),
      };
    }),
  };
}

const STATE_WORDS: Record<number, string> = { 0: 'pre-active', 1: 'active', 2: 'suspended', 3: 'deactivated', 5: 'destroyed' };

/** The table: one row per key, its lagging resources below it, then a summary line. */
export function statusTable(run: StatusRun, c: StatusContext, exitCode: number): string {
  if (run.listing !== undefined && run.listing.outcome !== 'listed') {
    return `key-sync: status of instance ${c.instanceId} unknown: ${registrationsMessage(run.listing, { instanceId: c.instanceId, credentialEnv: c.credentialEnv, extraCaCerts: c.extraCaCerts })} (exit ${exitCode})\n`;
  }
  const head = ['KEY', 'VERDICT', 'STATE', 'CURRENT VERSION', 'ON CURRENT', 'LAST ROTATION'] as const;
  const rows = run.keys.map((k) => {
    const s = k.status;
    const version = s?.currentVersion === undefined ? '-' : `${s.currentVersion.id}${s.currentVersion.since === undefined ? '' : ` (since ${s.currentVersion.since})`}`;
    return [
      k.keyId,
      verdictOf(k),
      s?.state === undefined ? '-' : (STATE_WORDS[s.state] ?? String(s.state)),
      version,
      s === undefined ? '-' : `${s.onCurrentVersion}/${s.registrations}`,
      s?.lastRotateDate ?? (s === undefined ? '-' : 'never'),
    ] as const;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((x, i) => (i === cells.length - 1 ? x : x.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(head)];
  run.keys.forEach((k, i) => {
    out.push(line(rows[i] ?? []));
    for (const l of k.status?.lagging ?? []) {
      out.push(`    ${l.resourceCrn ?? '(no CRN)'}: on version ${l.keyVersionId ?? '(none named)'}${l.behindForMs === undefined ? '' : `, ${duration(l.behindForMs)} after the key changed`}`);
    }
    if (verdictOf(k) === 'unknown') out.push(`    ${verdictSentence(k, c)}`);
  });
  const n = (v: Verdict): number => run.keys.filter((k) => verdictOf(k) === v).length;
  out.push(`key-sync: ${plural(run.keys.length, 'key')} of instance ${c.instanceId}: ${n('current')} current, ${n('catching-up')} catching up, ${n('behind')} behind, ${n('no-registrations')} without registrations, ${n('unknown')} unknown (grace ${c.graceHours} h; ${plural(run.requests.keyReads, 'key read')}, ${plural(run.requests.listings, 'listing request')}; exit ${exitCode})`);
  return `${out.join('\n')}\n`;
}
