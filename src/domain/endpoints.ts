/**
 * Pure endpoint logic shared by the constructs (synth time) and the CLI (run time):
 * the known regions of each service, the base URL of an instance, and the rule that
 * plain http is only allowed to a loopback host.
 */

/** The key-management services we talk to. */
export type KmsService = 'key-protect' | 'hpcs';

/** Key Protect regions (public and private endpoints exist for each). */
export const KEY_PROTECT_REGIONS: readonly string[] = [
  'us-south', 'us-east', 'eu-gb', 'eu-de', 'eu-es', 'au-syd', 'jp-tok', 'jp-osa',
  'ca-tor', 'ca-mon', 'br-sao', 'in-che', 'in-mum',
];

/** Hyper Protect Crypto Services regions. */
export const HPCS_REGIONS: readonly string[] = [
  'us-south', 'us-east', 'eu-de', 'eu-gb', 'eu-es', 'br-sao', 'jp-tok', 'ca-tor', 'au-syd',
];

/** Inclusive range of the HPCS key-management port (`api.<region>.hs-crypto.cloud.ibm.com:<port>`). */
export const HPCS_PORT_MIN = 8000;
export const HPCS_PORT_MAX = 19999;

/** Where an instance is, as declared by the user. */
export interface EndpointSpec {
  readonly service: KmsService;
  readonly region: string;
  readonly instanceId: string;
  /** HPCS only: the instance's key-management port (port form of the URL). */
  readonly port?: number;
  readonly privateEndpoint?: boolean;
}

/** The regions known for a service. */
export function regionsOf(service: KmsService): readonly string[] {
  return service === 'hpcs' ? HPCS_REGIONS : KEY_PROTECT_REGIONS;
}

/** Whether `region` is a known region of `service`. */
export function isKnownRegion(service: KmsService, region: string): boolean {
  return regionsOf(service).includes(region);
}

/** Whether `port` is a valid HPCS key-management port. */
export function isValidHpcsPort(port: number): boolean {
  return Number.isInteger(port) && port >= HPCS_PORT_MIN && port <= HPCS_PORT_MAX;
}

/**
 * The base URL (no trailing slash) of an instance's key-management API.
 * Assumes the spec was validated (known region, valid port).
 */
export function baseUrlFor(spec: EndpointSpec): string {
  const priv = spec.privateEndpoint === true;
  if (spec.service === 'key-protect') {
    return `https://${priv ? 'private.' : ''}${spec.region}.kms.cloud.ibm.com`;
  }
  if (spec.port !== undefined) {
    return `https://api.${priv ? 'private.' : ''}${spec.region}.hs-crypto.cloud.ibm.com:${spec.port}`;
  }
  return `https://${spec.instanceId}.api.${priv ? 'private.' : ''}${spec.region}.hs-crypto.appdomain.cloud`;
}

/**
 * The service an endpoint URL belongs to, from its host name: `*.kms.cloud.ibm.com` is Key
 * Protect, `*.hs-crypto.cloud.ibm.com` and `*.hs-crypto.appdomain.cloud` are HPCS; any
 * other host (a proxy, the emulator) tells nothing.
 */
export function serviceOfEndpoint(url: string): KmsService | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  if (host.endsWith('.kms.cloud.ibm.com')) return 'key-protect';
  if (host.endsWith('.hs-crypto.cloud.ibm.com') || host.endsWith('.hs-crypto.appdomain.cloud')) return 'hpcs';
  return undefined;
}

/** Whether a URL host is a loopback address (the only hosts plain http may reach). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * A URL as it may be shown in a message: any `user:password@` part, query and fragment
 * are replaced, since an endpoint with credentials in them (`?apikey=...`) is refused
 * and the refusal must not echo them.
 */
export function displayUrl(raw: string): string {
  return raw
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1<redacted>@')
    .replace(/\?[^#]*/, '?<redacted>')
    .replace(/#.*$/s, '#<redacted>');
}

/** Result of checking a user-given endpoint URL. */
export type EndpointCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

/**
 * Checks a user-given endpoint: an absolute http(s) URL without credentials, query or
 * fragment; plain http only to a loopback host. Returns the normalised base URL
 * (no trailing slash).
 */
export function checkEndpointUrl(raw: string): EndpointCheck {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, problem: 'is not an absolute URL', fix: 'give a URL such as https://us-south.kms.cloud.ibm.com' };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { ok: false, problem: `uses the unsupported scheme "${u.protocol}"`, fix: 'use https:// (or http:// to a loopback host such as 127.0.0.1)' };
  }
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    return { ok: false, problem: `sends credentials over plain http to the non-loopback host "${u.hostname}"`, fix: 'use https://, or http:// only to 127.0.0.1, ::1 or localhost' };
  }
  if (u.username !== '' || u.password !== '') {
    return { ok: false, problem: 'contains user information', fix: 'remove the user:password@ part; credentials come from the environment' };
  }
  if (u.search !== '' || u.hash !== '') {
    return { ok: false, problem: 'contains a query or fragment', fix: 'give only the scheme, host, port and optional base path' };
  }
  const url = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  return { ok: true, url };
}
