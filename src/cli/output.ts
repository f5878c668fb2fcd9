/**
 * What the CLI prints: one clear human line per outcome (or one JSON object with
 * --json), progress while it waits, and the exit code of a result. Formatting is pure;
 * only {@link ProgressPrinter} writes, to the stream it is given.
 */
import type { ProgressEvent, RegistrationsResult, SyncResult } from '../client/kms-client';

/** Exit codes of DESIGN 5.2. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_RETRY_LATER = 75;

export interface TextSink {
  write(chunk: string): unknown;
}

/** 0 synced/listed, 75 retry later (gate, transient budget spent, interrupted), else 1. */
export function exitCodeFor(r: Pick<SyncResult, 'outcome' | 'retryLater'> | Pick<RegistrationsResult, 'outcome' | 'retryLater'>): number {
  if (r.outcome === 'synced' || r.outcome === 'listed') return EXIT_OK;
  return r.retryLater ? EXIT_RETRY_LATER : EXIT_FAILED;
}

/** "12 s", "4 min 5 s", "1 h 2 min". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** "2026-11-28 21:38:43 UTC". */
export function utcTime(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}

export interface SyncSubject {
  readonly keyId: string;
  readonly instanceId: string;
  /** Set with --verify-registrations. */
  readonly registrations?: number;
}

/** The --json object of a sync. */
export function syncJson(r: SyncResult, s: SyncSubject): Record<string, unknown> {
  return {
    outcome: r.outcome,
    keyId: s.keyId,
    instanceId: s.instanceId,
    status: r.status ?? null,
    correlationId: r.correlationId,
    attempts: r.attempts,
    ...(r.notBefore === undefined ? {} : { notBefore: r.notBefore.toISOString() }),
    ...(r.gateNote === undefined ? {} : { gateNote: r.gateNote }),
    waitedMs: Math.round(r.waitedMs),
    message: r.message,
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.reasonCode === undefined ? {} : { reasonCode: r.reasonCode }),
    retryLater: r.retryLater,
    ...(s.registrations === undefined ? {} : { registrations: s.registrations }),
    exitCode: exitCodeFor(r),
  };
}

/** The human line of a sync result. */
export function syncLine(r: SyncResult, s: SyncSubject): string {
  const meta = [
    r.status === undefined ? undefined : `HTTP ${r.status}`,
    // The service's own reason code, so a search of CI logs for IBM's code finds it.
    r.reasonCode,
    r.code,
    `correlation id ${r.correlationId}`,
    `${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`,
    r.waitedMs >= 1000 ? `waited ${duration(r.waitedMs)}` : undefined,
  ].filter((x) => x !== undefined).join(', ');
  const subject = `key ${s.keyId} (instance ${s.instanceId})`;
  switch (r.outcome) {
    case 'synced':
      return `key-sync: synced ${subject}: ${r.message} [${meta}]`;
    case 'gated':
      return `key-sync: not synced yet, ${subject}: ${r.message} [${meta}]`;
    default:
      return r.code === 'KS_ABORTED'
        ? `key-sync: interrupted, ${subject}: ${r.message} [${meta}]`
        : `key-sync: sync failed, ${subject}: ${r.message} [${meta}]`;
  }
}

/** The --json object of a registrations listing. */
export function registrationsJson(r: RegistrationsResult, instanceId: string, keyId: string | undefined): Record<string, unknown> {
  return {
    outcome: r.outcome,
    instanceId,
    ...(keyId === undefined ? {} : { keyId }),
    status: r.status ?? null,
    correlationId: r.correlationId,
    attempts: r.attempts,
    pages: r.pages,
    count: r.registrations.length,
    ...(r.totalCount === undefined ? {} : { totalCount: r.totalCount }),
    message: r.message,
    ...(r.code === undefined ? {} : { code: r.code }),
    retryLater: r.retryLater,
    registrations: r.registrations,
    exitCode: exitCodeFor(r),
  };
}

/** Human listing: one line per registration, then a summary line. */
export function registrationsText(r: RegistrationsResult, instanceId: string, keyId: string | undefined): string {
  const subject = keyId === undefined ? `instance ${instanceId}` : `key ${keyId} (instance ${instanceId})`;
  if (r.outcome !== 'listed') {
    return `key-sync: listing registrations failed, ${subject}: ${r.message} [${r.status === undefined ? '' : `HTTP ${r.status}, `}${r.code ?? ''}, correlation id ${r.correlationId}]\n`;
  }
  const lines = r.registrations.map((g) => {
    const crn = typeof g.resourceCrn === 'string' ? clean(g.resourceCrn) : '(no CRN)';
    const key = keyId === undefined && typeof g.keyId === 'string' ? `${clean(g.keyId)}  ` : '';
    const lock = g.preventKeyDeletion === true ? '  [prevents key deletion]' : '';
    return `${key}${crn}${lock}`;
  });
  lines.push(`key-sync: ${r.registrations.length} registration${r.registrations.length === 1 ? '' : 's'} for ${subject} (${r.pages} page${r.pages === 1 ? '' : 's'}, correlation id ${r.correlationId})`);
  return `${lines.join('\n')}\n`;
}

/** Server-provided text in a listing: no terminal escapes. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 600);
}

/**
 * Prints progress to stderr: a line redrawn in place (`\r`) on a TTY, plain lines
 * otherwise (Terraform's log stays readable). Gate waits report at least every 30 s
 * (the client ticks every 15 s); backoffs report once each.
 */
export class ProgressPrinter {
  private open = false;

  constructor(
    private readonly out: TextSink,
    private readonly isTTY: boolean,
    private readonly label: string,
    // Kept for callers; gate distances now come with the event (service clock).
    _now: () => number,
  ) {}

  readonly onProgress = (e: ProgressEvent): void => {
    switch (e.kind) {
      case 'attempt':
        return;
      case 'backoff': {
        const what = e.what === 'iam' ? 'IAM token request' : e.what === 'registrations' ? 'registrations request' : 'sync request';
        this.line(`${this.label}: ${what}: ${e.cause}; retry ${e.retry} of ${e.maxRetries} in ${duration(e.delayMs)}`, false);
        return;
      }
      case 'gate-wait': {
        const left = duration(e.remainingMs);
        if (e.first) {
          // Measured on the service's clock (its Date header) when ours disagrees with it.
          const skew = e.clockSkewMs === 0 ? '' : `, by the key service's clock, ${duration(Math.abs(e.clockSkewMs))} ${e.clockSkewMs > 0 ? 'ahead of' : 'behind'} this machine's`;
          const away = `${duration(e.opensInMs)}${skew}`;
          const note = e.note === 'no-time-in-message' ? ' (the service named no time; assuming about an hour)' : e.note === 'time-in-the-past' ? ' (the time the service named has passed; retrying shortly)' : '';
          this.line(`${this.label}: sync time gate closed until ${utcTime(e.notBefore)} (in ${away})${note}; waiting ${left} within --max-wait (${duration(e.maxWaitLeftMs)} left)`, false);
        } else {
          this.line(`${this.label}: waiting for the sync time gate: ${left} left (opens ${utcTime(e.notBefore)})`, true);
        }
        return;
      }
    }
  };

  /** Any text the caller prints next (a plain line). */
  note(text: string): void {
    this.line(text, false);
  }

  /** Ends a redrawn line so the next output starts on its own line. */
  finish(): void {
    if (this.open) this.out.write('\n');
    this.open = false;
  }

  private line(text: string, redraw: boolean): void {
    if (this.isTTY && redraw) {
      this.out.write(`\r\u001b[2K${text}`);
      this.open = true;
      return;
    }
    this.finish();
    this.out.write(`${text}\n`);
  }
}
