/**
 * The help texts: the overview (every command) and one page per command. Pure text.
 */
import { DEFAULT_GRACE_HOURS, DEFAULT_MAX_WAIT_SECONDS, MAX_GRACE_HOURS, MAX_WAIT_SECONDS_LIMIT } from '../domain';
import { HPCS_PORT_MAX, HPCS_PORT_MIN } from '../domain/endpoints';

/** Commands with a help page of their own (the emulator's is its own `--help`). */
export type HelpTopic = 'sync' | 'rotate' | 'registrations' | 'status' | 'report';

/** Every command, for the overview and for "unknown command" messages. */
export const COMMANDS: ReadonlyArray<readonly [name: string, summary: string]> = [
  ['sync', 're-notify the resources associated with a key (or many keys), gate-aware'],
  ['rotate', 'rotate a root key once for a declared generation, gate-aware, never twice'],
  ['status', 'which resources have not picked up a key change (version status), per key'],
  ['registrations', "list the resources associated with a key or with every key of an instance"],
  ['report', 'summarize the run report KEY_SYNC_REPORT wrote, for CI (table, GitHub, JUnit)'],
  ['emulator', 'run a local emulator of IAM and the key API (no cloud account needed)'],
  ['help', 'this overview, or `key-sync help COMMAND` for one command'],
  ['version', 'print the version'],
];

export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([n]) => n);

const ENDPOINT_FLAGS = `Endpoint (one of):
  --endpoint URL          key-management API base URL (https://; http:// only to loopback)
  --region R              region; with --service key-protect (default) or hpcs
    --service S           key-protect | hpcs
    --port N              HPCS key-management port (${HPCS_PORT_MIN}-${HPCS_PORT_MAX}); no port: instance host name
    --private             use the private endpoint
  IBMCLOUD_KP_API_ENDPOINT in the environment overrides both.`;

const ENVIRONMENT = `Environment (credentials come only from here, never from flags):
  IBMCLOUD_API_KEY, else IC_API_KEY      API key, exchanged for a token at
  IBMCLOUD_IAM_API_ENDPOINT              (default https://iam.cloud.ibm.com)/identity/token
  IBMCLOUD_IAM_TOKEN, else IC_IAM_TOKEN  a ready IAM token (used when no API key is set)
  IBMCLOUD_KP_API_ENDPOINT               overrides the key-management endpoint
  KEY_SYNC_REPORT                        run report: each run appends a JSON line per key
                                         (absolute path; created 0600); see \`key-sync report\`
  KEY_SYNC_TOKEN_CACHE=off               do not share the IAM access token between runs
                                         (default: cached 0600 in $XDG_RUNTIME_DIR or the temp dir)
  NODE_EXTRA_CA_CERTS                    PEM file of a private certificate authority to trust
  NODE_TLS_REJECT_UNAUTHORIZED=0         refused (exit 2): certificate verification stays on
  KEY_SYNC_TIME_SCALE                    test hook only: multiplies every wait (0 < x <= 1)
  KEY_SYNC_ATTEMPT_TIMEOUT_MS            test hook only: per-attempt timeout in ms`;

const RETRIES = `Retries: each HTTP attempt (connect, TLS, headers and body) times out after 30 s. Network
errors, 408, 429 and 5xx except 501 are tried at most 5 times in all, with exponential
backoff (about 1 s doubling to 30 s, jitter; Retry-After honoured) and never past 2 minutes
from the start of the call.`;

const SYNC_EXIT_CODES = `Exit codes:
  0   done: sync accepted (2xx), or not needed (the declared rotation notified the resources)
  75  not done yet, retry later: the gate opens after --max-wait, 429/5xx/network failures
      outlasted the retry budget, a listing changed while it was read, or interrupted
      (SIGINT/SIGTERM) before the sync was accepted
  1   permanent failure: 400, 401 (after one token refresh), 403, 404, 410, 422, 501,
      any other 409, IAM refused the API key, a TLS certificate not accepted or an
      https:// port answering plain HTTP, response headers over Node's limit, a listing
      that repeats itself or passes its bounds
  2   usage or configuration error, found before any request is sent
  Several keys: the worst of their codes (1 over 75 over 0).`;

const REGISTRATIONS_EXIT_CODES = `Exit codes:
  0   the listing is complete
  75  not done yet, retry later: 429/5xx/network failures outlasted the retry budget, the
      listing changed while it was read or took longer than its 10 minutes, or interrupted
  1   permanent failure: 400, 401 (after one token refresh), 403, 404, 501, IAM refused the
      API key, a TLS certificate not accepted, a listing that repeats itself or passes its
      bounds (100,000 registrations, 64 MiB, 2,000 pages)
  2   usage or configuration error, found before any request is sent`;

const OVERVIEW_EXIT_CODES = `Exit codes (sysexits-style; each command's help gives its own):
  0   done (sync accepted, rotated, listing complete, no key behind, report all green)
  75  not done yet, retry later: a time gate opens after --max-wait, 429/5xx/network
      failures outlasted the retry budget, or interrupted (SIGINT/SIGTERM)
  1   permanent failure: the service refused (400, 401 after one token refresh, 403, 404,
      ...), IAM refused the API key, a TLS certificate not accepted, a bad answer
  3   (status only) at least one key is behind, and nothing failed
  2   usage or configuration error, found before any request is sent`;

export const HELP = `key-sync: re-notify the resources associated with an IBM Key Protect / Hyper Protect
Crypto Services root key (POST /api/v2/keys/{id}/actions/sync), gate-aware.

Usage: key-sync COMMAND [flags]

Commands:
${COMMANDS.map(([n, s]) => `  ${n.padEnd(14)}${s}`).join('\n')}

Run \`key-sync help COMMAND\` (or \`key-sync COMMAND --help\`) for its flags.

${ENVIRONMENT}

${OVERVIEW_EXIT_CODES}
`;

const SYNC_HELP = `Usage:
  key-sync sync --instance-id ID --key-id ID [endpoint] [--key-ring RING]
                [--max-wait SECONDS] [--verify-registrations] [--if-behind [--grace-hours H]]
                [--rotation-requested-at RFC3339] [--json]
  key-sync sync --instance-id ID (--key-id ID --key-id ID... | --keys-file FILE | --all-registered)
                [--concurrency N] [endpoint] [--key-ring RING] [--max-wait SECONDS]
                [--if-behind [--grace-hours H]] [--json]

Asks the key service to re-notify the resources associated with a root key
(POST /api/v2/keys/{id}/actions/sync). 204 means "sent", not "done". A 409
REQ_TOO_EARLY_ERR (the gate, about an hour after a sync or key change) is waited out
only if it opens within --max-wait; otherwise exit 75 names the time it opens.

Flags:
  --instance-id ID        service instance GUID (required)
  --key-id ID             root key UUID or alias; repeat it for several keys
  --key-ring RING         send X-Kms-Key-Ring
  --max-wait SECONDS      how long to wait for the sync time gate, from the start
                          (default ${DEFAULT_MAX_WAIT_SECONDS}; 0 = never wait; at most ${MAX_WAIT_SECONDS_LIMIT})
  --verify-registrations  list the key's registrations first; warn if there are none
  --if-behind             sync only the keys whose resources lag past --grace-hours
                          after a key change (see \`key-sync status\`); report the others
                          with their verdict and send nothing for them
  --grace-hours H         with --if-behind (default ${DEFAULT_GRACE_HOURS})
  --rotation-requested-at T
                          the requested-at time of the key's declared rotation, which ran
                          just before (KeyRotation passes it): when the service refuses the
                          sync for the hour after that rotation (409 REQ_TOO_EARLY_ERR), the
                          rotation has already notified the associated resources, and the
                          sync succeeds saying so (exit 0). Decided from the key: rotated at
                          or after T (5 min allowance) and a gate opening within about an
                          hour of that rotation; any other gate is waited for as usual
  --keys-file FILE        sync every key listed in FILE (one id or alias per line, # comments)
  --all-registered        sync every key of the instance that has a registration
  --concurrency N         several keys: at most N requests in flight (default 8, 1-64);
                          one token, one connection pool, one shared backoff (a 429 or 5xx
                          pauses every worker); gated keys wait side by side, each within
                          --max-wait; one failing key never stops the others. The same key
                          given twice (also as alias and UUID) is synced once. Exit code:
                          the worst outcome (1 over 75 over 0); --json prints
                          {outcome, counts, keys: [one sync object per key]}
  --json                  print one JSON object instead of text

${ENDPOINT_FLAGS}

${RETRIES}

${ENVIRONMENT}

${SYNC_EXIT_CODES}
`;

const STATUS_HELP = `Usage:
  key-sync status --instance-id ID (--key-id ID... | --keys-file FILE | --all-registered)
                  [--grace-hours H] [--concurrency N] [endpoint] [--key-ring RING] [--json]

Compares each key's current version with the version each of its registrations says
protects the resource, and tells which resources did not pick up a key change.

Verdict per key:
  current           every resource is on the key's current version
  catching-up       some are not, within --grace-hours of the key's last change
  behind            some are not, past the grace period: \`key-sync sync --if-behind\` heals them
  no-registrations  nothing is associated with the key
  unknown           the key or its registrations could not be read (the reason is given)

Flags:
  --instance-id ID        service instance GUID (required)
  --key-id ID             a key to report on (UUID or alias); repeat it for several
  --keys-file FILE        the keys listed in FILE (one id or alias per line, # comments)
  --all-registered        every key of the instance that has a registration
  --grace-hours H         how long a resource may lag after a key change before it is
                          behind (default ${DEFAULT_GRACE_HOURS}, the time IBM gives services; 0-${MAX_GRACE_HOURS})
  --concurrency N         at most N requests in flight (default 8, 1-64)
  --json                  print one JSON object instead of the table

More than three keys share one instance-wide registrations listing (all pages); each key
is read once for its current version.

${ENDPOINT_FLAGS}

${RETRIES}

${ENVIRONMENT}

Exit codes:
  0   no key is behind
  3   at least one key is behind, and nothing failed
  75  could not complete (429/5xx/network failures outlasted the retry budget, interrupted)
  1   a permanent failure reading a key or a listing
  2   usage or configuration error, found before any request is sent
`;

const ROTATE_HELP = `Usage:
  key-sync rotate --instance-id ID --key-id ID --generation G --requested-at RFC3339
                  [endpoint] [--key-ring RING] [--max-wait SECONDS] [--json]

Rotates a root key once for a declared generation (POST /api/v2/keys/{id}/actions/rotate,
empty body). The key is read first:
  - a standard key, a key in a state the service does not rotate (Key Protect: active or
    deactivated only; HPCS: active only) or imported key material is refused (exit 1,
    KS_NOT_ROTATABLE); nothing is sent;
  - a key rotated at or after --requested-at (less a 5-minute allowance for clock skew)
    is done for this generation: exit 0, outcome already-rotated, no rotate request. Any
    rotation counts, also one by a rotation policy or by hand after the request;
  - a key rotated less than an hour ago is behind the service's one-rotation-an-hour
    gate (409 KEY_ROTATION_NOT_PERMITTED, whose message names no time): it opens at the
    key's lastRotateDate + 1 h; waited for within --max-wait, else exit 75 naming it.
A rotate request that goes unanswered (timeout, reset, 5xx) is never repeated blind: the
key is read again, and a new version means it was done; only a read showing no rotation
lets it be sent again. The service (Key Protect or HPCS) is told by the key's CRN, else
by the endpoint's host name.

Flags:
  --instance-id ID        service instance GUID (required)
  --key-id ID             root key UUID or alias (required)
  --generation G          the declared generation, e.g. 2026-Q4 (required; reported back)
  --requested-at T        when the generation was first requested, RFC 3339 (required);
                          KeyRotation passes the time Terraform recorded at plan time,
                          which stays the same when a failed rotation is retried
  --key-ring RING         send X-Kms-Key-Ring
  --max-wait SECONDS      how long to wait for the rotation gate, from the start
                          (default ${DEFAULT_MAX_WAIT_SECONDS}; 0 = never wait; at most ${MAX_WAIT_SECONDS_LIMIT})
  --json                  print one JSON object instead of text: outcome (rotated |
                          already-rotated | gated | failed), keyId, keyVersion,
                          previousKeyVersion, rotatedAt, notBefore (when gated), attempts,
                          correlationId, message, ...

${ENDPOINT_FLAGS}

${RETRIES}

${ENVIRONMENT}

Exit codes:
  0   rotated, or already rotated for this generation
  75  not done yet, retry later: the rotation gate opens after --max-wait, failures
      outlasted the retry budget, or interrupted (a rotate request without an answer is
      checked by the next run, which reads the key first)
  1   permanent failure: not rotatable (standard key, state, imported material), 400,
      401 (after one token refresh), 403, 404, 409 other than the rotation gate, ...
  2   usage or configuration error, found before any request is sent
`;

const REGISTRATIONS_HELP = `Usage:
  key-sync registrations --instance-id ID [--key-id ID] [--crn CRN-QUERY] [endpoint]
                         [--key-ring RING] [--json]

Lists the registrations (associated resources) of one key, or of every key of the
instance, paging through all of them. A listing that cannot be completed is reported as
failed, never as a shorter list.

Flags:
  --instance-id ID        service instance GUID (required)
  --key-id ID             one key's registrations (default: every key of the instance)
  --crn CRN-QUERY         filter by resource CRN (* wildcards allowed)
  --key-ring RING         send X-Kms-Key-Ring
  --json                  print one JSON object instead of text

${ENDPOINT_FLAGS}

${RETRIES}

${ENVIRONMENT}

${REGISTRATIONS_EXIT_CODES}
`;

const REPORT_HELP = `Usage:
  key-sync report [FILE] [--json] [--github] [--junit OUT]

Summarizes a run report. With KEY_SYNC_REPORT=FILE in the environment, every key-sync
run that acts on a key appends one JSON line to FILE (time, command, instance, key,
outcome, exit code, notBefore when gated, correlation id, attempts, the redacted
message); processes running side by side (Terraform's parallel provisioners) never tear
or lose a line. Terraform turns every failing provisioner into "exit status 1"; this
command tells a pipeline "gated, re-run after T" (75) apart from "broken, fix it" (1).
It needs no credentials and sends no request.

A key that ran several times counts by its last run (RUNS says how many). FILE defaults
to $KEY_SYNC_REPORT. A file that does not exist is an error (exit 2): no run wrote to it,
or KEY_SYNC_REPORT was not the same absolute path. An empty file means no run acted on a
key (an apply with nothing to do): exit 0. A line that is not a report line (cut short,
or written by something else) is listed and counts as a failure (exit 1): the run behind
it is unknown.

Flags:
  --json                  print one JSON object instead of the table
  --github                GitHub Actions output (also on when GITHUB_ACTIONS=true): one
                          ::warning (retry later) or ::error (failed) annotation per key
                          that did not succeed (on stderr with --json, so stdout stays
                          JSON), a Markdown table appended to $GITHUB_STEP_SUMMARY, and
                          the step outputs outcome, exit-code and retry-after (RFC 3339)
                          appended to $GITHUB_OUTPUT
  --junit OUT             write JUnit XML to OUT: one test case per key; retry later is
                          skipped with the reason, failed is a failure

Exit codes:
  0   every key's last run succeeded (or the file holds no runs)
  75  the only failures are retry-later ones: nothing is broken; the output names the
      time after which a re-run gets through (the latest notBefore) and how far away it is
  1   a key's last run failed permanently, or a line is unreadable
  2   usage: no FILE, FILE missing or not a file, --junit not writable
`;

/** The help page of a command (or the overview). */
export function helpText(topic: HelpTopic | undefined): string {
  switch (topic) {
    case 'sync':
      return SYNC_HELP;
    case 'registrations':
      return REGISTRATIONS_HELP;
    case 'rotate':
      return ROTATE_HELP;
    case 'status':
      return STATUS_HELP;
    case 'report':
      return REPORT_HELP;
    case undefined:
      return HELP;
  }
}
