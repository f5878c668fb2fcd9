/**
 * Progress on stderr while a call waits: a line redrawn in place (`\r`) on a TTY, plain
 * lines otherwise (Terraform's log stays readable). Gate waits report at least every 30 s
 * (the client ticks every 15 s); backoffs report once each.
 */
import type { ProgressEvent } from '../../client/kms-client';
import type { TextSink } from './sink';
import { describeLast, duration, gateWaitStartLine, utc } from './words';

const EXCHANGE_WORDS = {
  iam: 'IAM token request',
  registrations: 'registrations request',
  sync: 'sync request',
  rotate: 'rotate request',
  key: 'key read',
  versions: 'key versions request',
} as const;

/** "sync request to http://127.0.0.1:1234: HTTP 503 (attempt 1 of 5); trying again in 1 s" */
export function backoffLine(e: Extract<ProgressEvent, { kind: 'backoff' }>): string {
  return `${EXCHANGE_WORDS[e.what]} to ${e.endpoint}: ${describeLast(e.cause)} (attempt ${e.attempt} of ${e.maxAttempts}); trying again in ${duration(e.delayMs)}`;
}

export class ProgressPrinter {
  private open = false;

  constructor(
    private readonly out: TextSink,
    private readonly isTTY: boolean,
    private readonly label: string,
  ) {}

  readonly onProgress = (e: ProgressEvent): void => {
    switch (e.kind) {
      case 'attempt':
        return;
      case 'backoff':
        this.line(`${this.label}: ${backoffLine(e)}`, false);
        return;
      case 'rotation-check':
        this.line(`${this.label}: the rotate request got no answer (${describeLast(e.last)}); reading the key to see whether it rotated (a rotation is never repeated blind)`, false);
        return;
      case 'gate-wait':
        if (e.first) {
          // Measured on the service's clock (its Date header) when ours disagrees with it.
          this.line(`${this.label}: ${gateWaitStartLine(e.gate, e.notBefore, e.opensInMs, e.clockSkewMs, e.note, e.remainingMs, e.maxWaitLeftMs)}`, false);
        } else {
          this.line(`${this.label}: waiting for the ${e.gate} time gate: ${duration(e.remainingMs)} left (opens ${utc(e.notBefore)})`, true);
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
