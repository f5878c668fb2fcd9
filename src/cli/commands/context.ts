/**
 * What every command that calls the key API starts from: the I/O it was given, the
 * client built from its config (with the test hooks applied), and the output sinks that
 * redact with the client's sanitizer.
 */
import type { Dispatcher } from 'undici';
import type { KmsClient } from '../../client/kms-client';
import type { Sleep } from '../../client/pacing';
import type { ApiConfig } from '../endpoint-config';
import { SafeSink, type TextSink } from '../output/sink';
import { describeStoreOff } from '../output/words';
import { EXIT_FAILED } from '../output/exit-codes';
import { scaledTime } from '../test-hooks';
import { version } from '../version';

export interface RunIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Whether stderr is a terminal (progress is redrawn in place). */
  readonly isTTY: boolean;
  /** SIGINT/SIGTERM: stop, say what state the call is in, exit 75 (0 if already done). */
  readonly signal?: AbortSignal;
  /** Clock for tests (epoch ms). */
  readonly now?: () => number;
  readonly dispatcher?: Dispatcher;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  /** The environment the run was given (for NODE_EXTRA_CA_CERTS in messages). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface CommandContext {
  readonly client: KmsClient;
  readonly now: () => number;
  readonly out: SafeSink;
  readonly err: SafeSink;
  readonly io: RunIo;
  /** Whether NODE_EXTRA_CA_CERTS is set (messages about refused certificates say so). */
  readonly extraCaCerts: boolean;
}

// The client (and undici with it) loads only when a command needs it: `require` rather
// than `import()` because the package compiles to CommonJS, and esbuild turns a require
// of a bundled module into a lazily-run initialiser.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadClient = (): typeof import('../../client/kms-client') => require('../../client/kms-client') as typeof import('../../client/kms-client');
const loadTokenStore = (): typeof import('../../client/token-store') => require('../../client/token-store') as typeof import('../../client/token-store');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Builds the client of a command and runs `body` with it, closing it afterwards. */
export async function withClient(config: ApiConfig, io: RunIo, opts: { maxConcurrentRequests?: number }, body: (c: CommandContext) => Promise<number>): Promise<number> {
  const { KmsClient, realSleep } = loadClient();
  const time = scaledTime(config.timeScale, io.now ?? Date.now, io.sleep ?? realSleep);
  const env = io.env ?? process.env;
  // The processes of one apply share the IAM token (a ready token needs no sharing).
  const store = config.credentials.kind === 'api-key' ? loadTokenStore().openTokenStore(env) : undefined;
  const client = new KmsClient({
    baseUrl: config.baseUrl,
    credentials: config.credentials,
    now: time.now,
    sleep: time.sleep,
    userAgent: `key-sync/${version()}`,
    ...(io.dispatcher === undefined ? {} : { dispatcher: io.dispatcher }),
    ...(io.random === undefined ? {} : { random: io.random }),
    ...(config.attemptTimeoutMs === undefined ? {} : { limits: { attemptTimeoutMs: config.attemptTimeoutMs } }),
    ...(opts.maxConcurrentRequests === undefined ? {} : { maxConcurrentRequests: opts.maxConcurrentRequests }),
    ...(store === undefined ? {} : { tokenStore: store }),
  });
  const out = new SafeSink(io.stdout);
  const err = new SafeSink(io.stderr);
  out.use(client.sanitizer);
  err.use(client.sanitizer);
  const extra = env['NODE_EXTRA_CA_CERTS'];
  // Switched off on purpose needs no word; an unsafe directory does (the cache stays off).
  if (store?.disabled !== undefined && store.disabled.kind !== 'switched-off') err.write(`key-sync: note: the IAM token cache is off: ${describeStoreOff(store.disabled)}\n`);
  try {
    return await body({ client, now: time.now, out, err, io, extraCaCerts: extra !== undefined && extra !== '' });
  } catch (e) {
    // A bug: exit 1 with the message redacted by what this client knows (tokens too).
    err.write(`key-sync: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILED;
  } finally {
    await client.close();
  }
}
