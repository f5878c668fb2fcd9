import {
  HPCS_PORT_MAX,
  HPCS_PORT_MIN,
  baseUrlFor,
  checkEndpointUrl,
  displayUrl,
  isKnownRegion,
  isValidHpcsPort,
  regionsOf,
  type KmsService,
} from '../domain/endpoints';
import { Token } from './core';
import { sep as pathSep, relative as relativePath } from 'node:path';
import { KeySyncConfigError, invalidEndpoint, invalidHpcsPort, invalidInstanceId, invalidService, unknownRegion } from './errors';
import { checkInstanceId } from '../domain';

export type { KmsService } from '../domain/endpoints';

/** Props of {@link KmsInstance.keyProtect}. */
export interface KeyProtectInstanceProps {
  /** The Key Protect instance GUID (a Terraform token is accepted). */
  readonly instanceId: string;
  /** The instance's region, e.g. `us-south`. Must be a known Key Protect region. */
  readonly region: string;
  /**
   * Use the private endpoint `https://private.<region>.kms.cloud.ibm.com`.
   * @default false
   */
  readonly privateEndpoint?: boolean;
}

/** Props of {@link KmsInstance.hyperProtect}. */
export interface HyperProtectInstanceProps {
  /** The HPCS instance GUID (a Terraform token is accepted). */
  readonly instanceId: string;
  /** The instance's region, e.g. `us-south`. Must be a known HPCS region. */
  readonly region: string;
  /**
   * The instance's key-management port (8000-19999). Given: the endpoint is
   * `https://api[.private].<region>.hs-crypto.cloud.ibm.com:<port>`.
   * @default - no port: `https://<instanceId>.api[.private].<region>.hs-crypto.appdomain.cloud`
   */
  readonly port?: number;
  /**
   * Use the private endpoint.
   * @default false
   */
  readonly privateEndpoint?: boolean;
}

/** Props of {@link KmsInstance.fromEndpoint}. */
export interface EndpointInstanceProps {
  /** The instance GUID (a Terraform token is accepted). */
  readonly instanceId: string;
  /**
   * The key-management base URL, e.g. the emulator's `http://127.0.0.1:8811`.
   * `https://` anywhere; plain `http://` only to a loopback host.
   */
  readonly endpoint: string;
  /**
   * Which service answers at the endpoint (informational; the CLI speaks the same API
   * to both).
   * @default 'key-protect'
   */
  readonly service?: KmsService;
}

/** One CLI flag that selects the instance's endpoint; `value` absent for a switch. */
export interface CliFlag {
  readonly flag: string;
  readonly value?: string;
}

/**
 * A Key Protect or Hyper Protect Crypto Services instance: where its key-management API
 * is. Not a construct (it creates nothing in Terraform): build it with one of the static
 * factories and pass it to {@link RootKey}s. Holds no secrets; the CLI reads credentials
 * from the runner's environment.
 */
export class KmsInstance {
  /**
   * A Key Protect instance in a known region.
   * @throws KeySyncConfigError for a non-UUID instance id or an unknown region
   */
  public static keyProtect(props: KeyProtectInstanceProps): KmsInstance {
    return withCallSite(() => KmsInstance.makeKeyProtect(props));
  }

  private static makeKeyProtect(props: KeyProtectInstanceProps): KmsInstance {
    const where = 'KmsInstance.keyProtect';
    checkId(where, props.instanceId);
    checkRegion(where, 'key-protect', props.region);
    const privateEndpoint = props.privateEndpoint === true;
    const endpoint = baseUrlFor({ service: 'key-protect', region: props.region, instanceId: props.instanceId, privateEndpoint });
    const flags: CliFlag[] = [
      { flag: '--region', value: props.region },
      { flag: '--service', value: 'key-protect' },
      ...(privateEndpoint ? [{ flag: '--private' }] : []),
    ];
    return new KmsInstance(props.instanceId, 'key-protect', endpoint, flags);
  }

  /**
   * A Hyper Protect Crypto Services instance in a known region, by port
   * (`api.<region>.hs-crypto.cloud.ibm.com:<port>`) or by instance host (no port).
   * @throws KeySyncConfigError for a non-UUID instance id, an unknown region or a port outside 8000-19999
   */
  public static hyperProtect(props: HyperProtectInstanceProps): KmsInstance {
    return withCallSite(() => KmsInstance.makeHyperProtect(props));
  }

  private static makeHyperProtect(props: HyperProtectInstanceProps): KmsInstance {
    const where = 'KmsInstance.hyperProtect';
    checkId(where, props.instanceId);
    checkRegion(where, 'hpcs', props.region);
    const port = props.port;
    if (port !== undefined && !Token.isUnresolved(port) && !isValidHpcsPort(port)) {
      throw invalidHpcsPort(where, port, HPCS_PORT_MIN, HPCS_PORT_MAX);
    }
    const privateEndpoint = props.privateEndpoint === true;
    const portText = port === undefined ? undefined : Token.isUnresolved(port) ? Token.asString(port) : String(port);
    // A port token cannot go through baseUrlFor (a number token in a template string does
    // not resolve), so the port form is spelled out for it; same URL shape.
    const url = portText !== undefined && port !== undefined && Token.isUnresolved(port)
      ? `https://api.${privateEndpoint ? 'private.' : ''}${props.region}.hs-crypto.cloud.ibm.com:${portText}`
      : baseUrlFor({ service: 'hpcs', region: props.region, instanceId: props.instanceId, port, privateEndpoint });
    const flags: CliFlag[] = [
      { flag: '--region', value: props.region },
      { flag: '--service', value: 'hpcs' },
      ...(portText !== undefined ? [{ flag: '--port', value: portText }] : []),
      ...(privateEndpoint ? [{ flag: '--private' }] : []),
    ];
    return new KmsInstance(props.instanceId, 'hpcs', url, flags);
  }

  /**
   * An instance at an explicit endpoint (any region, a proxy, the local emulator).
   * @throws KeySyncConfigError for a non-UUID instance id or a bad URL (plain http to a non-loopback host, ...)
   */
  public static fromEndpoint(props: EndpointInstanceProps): KmsInstance {
    return withCallSite(() => KmsInstance.makeFromEndpoint(props));
  }

  private static makeFromEndpoint(props: EndpointInstanceProps): KmsInstance {
    const where = 'KmsInstance.fromEndpoint';
    checkId(where, props.instanceId);
    const service = props.service ?? 'key-protect';
    if (service !== 'key-protect' && service !== 'hpcs') throw invalidService(where, service);
    let endpoint = props.endpoint;
    if (!Token.isUnresolved(endpoint)) {
      const check = checkEndpointUrl(endpoint);
      if (!check.ok) throw invalidEndpoint(where, displayUrl(endpoint), check.problem, check.fix);
      endpoint = check.url;
    }
    return new KmsInstance(props.instanceId, service, endpoint, [{ flag: '--endpoint', value: endpoint }]);
  }

  /**
   * @param instanceId the instance GUID (or token)
   * @param service which service the instance belongs to
   * @param endpoint the key-management base URL (no trailing slash)
   * @param cliFlags the `key-sync` flags that select this endpoint
   */
  private constructor(
    public readonly instanceId: string,
    public readonly service: KmsService,
    public readonly endpoint: string,
    public readonly cliFlags: readonly CliFlag[],
  ) {}
}

/**
 * Runs a factory; a KeySyncConfigError it throws names where the factory was called from
 * (a KmsInstance is not a construct and has no construct path of its own): the first
 * stack frame outside this package, relative to the working directory.
 */
function withCallSite(make: () => KmsInstance): KmsInstance {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof KeySyncConfigError)) throw e;
    const site = callSite(new Error().stack ?? '');
    if (site === undefined) throw e;
    throw new KeySyncConfigError(`${e.path} (called at ${site})`, e.prop, e.value, e.problem, e.fix);
  }
}

/** The first frame of `stack` outside this directory (the package's constructs), as file:line:column. */
export function callSite(stack: string, ownDir: string = __dirname, cwd: string = process.cwd()): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (m === null) continue;
    const file = (m[1] as string).replace(/^file:\/\//, '');
    if (file.startsWith(`${ownDir}${pathSep}`) || file.includes(`${pathSep}node_modules${pathSep}`) || file.startsWith('node:')) continue;
    const rel = relativePath(cwd, file);
    return `${rel.startsWith('..') ? file : rel}:${m[2] ?? ''}:${m[3] ?? ''}`;
  }
  return undefined;
}

function checkId(where: string, instanceId: string): void {
  if (Token.isUnresolved(instanceId)) return;
  const bad = checkInstanceId(instanceId);
  if (bad) throw invalidInstanceId(where, instanceId, bad);
}

function checkRegion(where: string, service: KmsService, region: string): void {
  if (Token.isUnresolved(region)) return;
  if (!isKnownRegion(service, region)) {
    throw unknownRegion(where, region, service === 'hpcs' ? 'Hyper Protect Crypto Services' : 'Key Protect', regionsOf(service));
  }
}
