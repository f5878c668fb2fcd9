/**
 * The settings every command that calls the key API shares: instance, endpoint (with
 * its precedence), key ring, credentials and the environment's test hooks. Pure: argv
 * values + environment -> config, or a UsageError naming the flag, the value and the fix.
 */
import { credentialsFromEnv, type Credentials } from '../client/iam';
import { checkInstanceId, checkKeyRing } from '../domain';
import { baseUrlFor, checkEndpointUrl, displayUrl, isKnownRegion, isValidHpcsPort, regionsOf, serviceOfEndpoint, HPCS_PORT_MAX, HPCS_PORT_MIN, type KmsService } from '../domain/endpoints';
import { checked, printable, usage, type Env } from './flags';
import { testHooks } from './test-hooks';

/** Settings common to commands that call the key API. */
export interface ApiConfig {
  readonly instanceId: string;
  /** Validated key-management base URL (no trailing slash). */
  readonly baseUrl: string;
  /** How the endpoint was chosen, for messages. */
  readonly endpointSource: 'IBMCLOUD_KP_API_ENDPOINT' | '--endpoint' | '--region';
  /** The service, when --region/--service or the endpoint's host name tells it. */
  readonly service?: KmsService;
  readonly keyRing?: string;
  readonly json: boolean;
  /** Never printed. */
  readonly credentials: Credentials;
  /** Test hook KEY_SYNC_TIME_SCALE: multiplies every wait (backoff, Retry-After, gate). 1 in real use. */
  readonly timeScale: number;
  /** Test hook KEY_SYNC_ATTEMPT_TIMEOUT_MS: per-attempt timeout. Default 30 s. */
  readonly attemptTimeoutMs?: number;
  /** Things worth telling the user that are not errors. */
  readonly notes: readonly string[];
}

/** The flags of {@link apiConfig}. */
export interface EndpointValues {
  readonly 'instance-id'?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  readonly service?: string | undefined;
  readonly port?: string | undefined;
  readonly private?: boolean | undefined;
  readonly 'key-ring'?: string | undefined;
  readonly json?: boolean | undefined;
}

const SERVICES: readonly KmsService[] = ['key-protect', 'hpcs'];

/**
 * Node's switch that turns TLS certificate verification off for every connection of the
 * process. key-sync sends an API key to IAM and a token to the key service: refused
 * outright (exit 2) rather than honoured with a warning a CI log buries; the transport
 * verifies certificates whatever it says, and NODE_EXTRA_CA_CERTS is the way to trust a
 * private certificate authority.
 */
function refuseTlsOff(env: Env): void {
  const v = env['NODE_TLS_REJECT_UNAUTHORIZED'];
  if (v !== undefined && v.trim() === '0') {
    usage('NODE_TLS_REJECT_UNAUTHORIZED=0 is set: it turns off TLS certificate verification, so the API key could go to an unverified host; unset it, and if your network uses its own certificate authority point NODE_EXTRA_CA_CERTS at its PEM file instead');
  }
}

export function apiConfig(v: EndpointValues, env: Env, command: string): ApiConfig {
  const instanceRaw = v['instance-id'];
  if (instanceRaw === undefined || instanceRaw === '') usage(`--instance-id is required: give the service instance GUID, e.g. key-sync ${command} --instance-id 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20 ...`);
  const instanceId = checked('--instance-id', instanceRaw, checkInstanceId(instanceRaw));
  const keyRing = v['key-ring'] === undefined ? undefined : checked('--key-ring', v['key-ring'], checkKeyRing(v['key-ring']));

  // Endpoint: --endpoint URL | --region R [--service S] [--port N] [--private];
  // IBMCLOUD_KP_API_ENDPOINT overrides either (e.g. to point a pipeline at the emulator).
  const notes: string[] = [];
  if (v.endpoint !== undefined && v.region !== undefined) usage('give either --endpoint URL or --region REGION, not both');
  if (v.endpoint !== undefined && (v.service !== undefined || v.port !== undefined || v.private === true)) {
    usage('--service, --port and --private go with --region; with --endpoint give the full URL instead');
  }
  if (v.region === undefined && (v.service !== undefined || v.port !== undefined || v.private === true)) {
    usage('--service, --port and --private need --region REGION (e.g. --region us-south)');
  }
  let service: KmsService = 'key-protect';
  if (v.service !== undefined) {
    if (!(SERVICES as readonly string[]).includes(v.service)) usage(`--service "${printable(v.service)}" is not a service; use key-protect or hpcs`);
    service = v.service as KmsService;
  }
  let port: number | undefined;
  if (v.port !== undefined) {
    if (service !== 'hpcs') usage('--port is only for --service hpcs (Key Protect endpoints have no port)');
    port = /^\d+$/.test(v.port) ? Number(v.port) : NaN;
    if (!isValidHpcsPort(port)) usage(`--port "${printable(v.port)}" is not an HPCS key-management port; use a whole number from ${HPCS_PORT_MIN} to ${HPCS_PORT_MAX}, or omit it for the instance host name`);
  }
  if (v.region !== undefined && !isKnownRegion(service, v.region)) {
    usage(`--region "${printable(v.region)}" is not a ${service === 'hpcs' ? 'Hyper Protect Crypto Services' : 'Key Protect'} region; use one of ${regionsOf(service).join(', ')}, or --endpoint URL`);
  }

  let baseUrl: string;
  let endpointSource: ApiConfig['endpointSource'];
  const envEndpoint = env['IBMCLOUD_KP_API_ENDPOINT'];
  if (envEndpoint !== undefined && envEndpoint.trim() !== '') {
    const c = checkEndpointUrl(envEndpoint.trim());
    if (!c.ok) usage(`IBMCLOUD_KP_API_ENDPOINT "${printable(displayUrl(envEndpoint.trim()))}" ${c.problem}; ${c.fix}`);
    baseUrl = c.url;
    endpointSource = 'IBMCLOUD_KP_API_ENDPOINT';
    if (v.endpoint !== undefined || v.region !== undefined) notes.push(`IBMCLOUD_KP_API_ENDPOINT overrides ${v.endpoint !== undefined ? '--endpoint' : '--region'}: using ${c.url}`);
  } else if (v.endpoint !== undefined) {
    const c = checkEndpointUrl(v.endpoint);
    if (!c.ok) usage(`--endpoint "${printable(displayUrl(v.endpoint))}" ${c.problem}; ${c.fix}`);
    baseUrl = c.url;
    endpointSource = '--endpoint';
  } else if (v.region !== undefined) {
    baseUrl = baseUrlFor({ service, region: v.region, instanceId, ...(port === undefined ? {} : { port }), privateEndpoint: v.private === true });
    endpointSource = '--region';
  } else {
    usage('no endpoint: give --region REGION (e.g. --region us-south [--service hpcs]), --endpoint URL, or set IBMCLOUD_KP_API_ENDPOINT');
  }

  const cred = credentialsFromEnv(env);
  if (!cred.ok) usage(`${cred.problem}; ${cred.fix}`);
  refuseTlsOff(env);
  const hooks = testHooks(env);
  const knownService = endpointSource === '--region' ? service : serviceOfEndpoint(baseUrl);
  return {
    instanceId,
    baseUrl,
    endpointSource,
    ...(knownService === undefined ? {} : { service: knownService }),
    ...(keyRing === undefined ? {} : { keyRing }),
    json: v.json === true,
    credentials: cred.credentials,
    timeScale: hooks.timeScale,
    ...(hooks.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: hooks.attemptTimeoutMs }),
    notes,
  };
}
