import {
  HPCS_REGIONS,
  KEY_PROTECT_REGIONS,
  baseUrlFor,
  checkEndpointUrl,
  isKnownRegion,
  isLoopbackHost,
  isValidHpcsPort,
  type EndpointSpec,
} from '../../src/domain/endpoints';

const INST = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';

describe('regions', () => {
  test('the regions IBM documents for each service', () => {
    expect([...KEY_PROTECT_REGIONS].sort()).toEqual(['au-syd', 'br-sao', 'ca-mon', 'ca-tor', 'eu-de', 'eu-es', 'eu-gb', 'in-che', 'in-mum', 'jp-osa', 'jp-tok', 'us-east', 'us-south']);
    expect([...HPCS_REGIONS].sort()).toEqual(['au-syd', 'br-sao', 'ca-tor', 'eu-de', 'eu-es', 'eu-gb', 'jp-tok', 'us-east', 'us-south']);
  });
  test.each<[EndpointSpec['service'], string, boolean]>([
    ['key-protect', 'us-south', true],
    ['key-protect', 'jp-osa', true],
    ['key-protect', 'in-mum', true],
    ['hpcs', 'jp-osa', false],
    ['hpcs', 'eu-es', true],
    ['hpcs', 'ca-mon', false],
    ['key-protect', 'US-SOUTH', false],
    ['key-protect', '', false],
    ['key-protect', 'us-south ', false],
    ['key-protect', 'mars-north', false],
  ])('%s %p -> %s', (service, region, known) => {
    expect(isKnownRegion(service, region)).toBe(known);
  });
});

describe('isValidHpcsPort', () => {
  test.each([[8000, true], [19999, true], [12345, true], [7999, false], [20000, false], [0, false], [-8000, false], [8000.5, false], [NaN, false], [Infinity, false]])('%p -> %s', (p, ok) => {
    expect(isValidHpcsPort(p)).toBe(ok);
  });
});

describe('baseUrlFor', () => {
  test.each<[EndpointSpec, string]>([
    [{ service: 'key-protect', region: 'us-south', instanceId: INST }, 'https://us-south.kms.cloud.ibm.com'],
    [{ service: 'key-protect', region: 'eu-de', instanceId: INST, privateEndpoint: true }, 'https://private.eu-de.kms.cloud.ibm.com'],
    [{ service: 'key-protect', region: 'eu-de', instanceId: INST, privateEndpoint: false }, 'https://eu-de.kms.cloud.ibm.com'],
    [{ service: 'hpcs', region: 'us-east', instanceId: INST }, `https://${INST}.api.us-east.hs-crypto.appdomain.cloud`],
    [{ service: 'hpcs', region: 'us-east', instanceId: INST, privateEndpoint: true }, `https://${INST}.api.private.us-east.hs-crypto.appdomain.cloud`],
    [{ service: 'hpcs', region: 'us-south', instanceId: INST, port: 9730 }, 'https://api.us-south.hs-crypto.cloud.ibm.com:9730'],
    [{ service: 'hpcs', region: 'us-south', instanceId: INST, port: 9730, privateEndpoint: true }, 'https://api.private.us-south.hs-crypto.cloud.ibm.com:9730'],
  ])('%j', (spec, url) => {
    expect(baseUrlFor(spec)).toBe(url);
    expect(checkEndpointUrl(url)).toEqual({ ok: true, url });
  });
});

describe('isLoopbackHost', () => {
  test.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['LOCALHOST', true], ['::1', true], ['[::1]', true],
    ['128.0.0.1', false], ['10.0.0.1', false], ['0.0.0.0', false], ['localhost.evil.com', false], ['127.0.0.1.nip.io', false],
    ['example.com', false], ['', false], ['::', false], ['[::ffff:7f00:1]', false],
  ])('%p -> %s', (host, loop) => {
    expect(isLoopbackHost(host)).toBe(loop);
  });
});

describe('checkEndpointUrl', () => {
  test.each<[string, string]>([
    ['https://us-south.kms.cloud.ibm.com', 'https://us-south.kms.cloud.ibm.com'],
    ['https://us-south.kms.cloud.ibm.com/', 'https://us-south.kms.cloud.ibm.com'],
    ['https://us-south.kms.cloud.ibm.com:443/', 'https://us-south.kms.cloud.ibm.com'],
    ['HTTPS://US-South.KMS.cloud.ibm.com', 'https://us-south.kms.cloud.ibm.com'],
    ['https://proxy.example.com/kms//', 'https://proxy.example.com/kms'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:8080/', 'http://localhost:8080'],
    ['http://[::1]:9000', 'http://[::1]:9000'],
    ['http://2130706433:80/', 'http://127.0.0.1'],
    ['  https://eu-de.kms.cloud.ibm.com  ', 'https://eu-de.kms.cloud.ibm.com'],
  ])('accepts %p', (raw, url) => {
    expect(checkEndpointUrl(raw)).toEqual({ ok: true, url });
  });

  test.each<[string, RegExp]>([
    ['us-south.kms.cloud.ibm.com', /not an absolute URL/],
    ['', /not an absolute URL/],
    ['https://', /not an absolute URL/],
    ['ftp://127.0.0.1', /unsupported scheme "ftp:"/],
    ['file:///etc/passwd', /unsupported scheme/],
    ['javascript:alert(1)', /unsupported scheme/],
    ['http://us-south.kms.cloud.ibm.com', /plain http to the non-loopback host "us-south.kms.cloud.ibm.com"/],
    ['http://10.0.0.5:8080', /plain http/],
    ['http://localhost.evil.com', /plain http/],
    ['http://127.0.0.1:8080@evil.com', /plain http/],
    ['https://user:pw@kms.example.com', /user information/],
    ['https://kms.example.com?x=1', /query or fragment/],
    ['https://kms.example.com/#frag', /query or fragment/],
  ])('refuses %p', (raw, problem) => {
    const r = checkEndpointUrl(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem).toMatch(problem);
      expect(r.fix.length).toBeGreaterThan(10);
    }
  });
});

describe('serviceOfEndpoint: the service a host belongs to', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { serviceOfEndpoint } = require('../../src/domain/endpoints') as typeof import('../../src/domain/endpoints');
  test.each<[string, string | undefined]>([
    ['https://us-south.kms.cloud.ibm.com', 'key-protect'],
    ['https://private.eu-de.kms.cloud.ibm.com', 'key-protect'],
    ['https://api.us-south.hs-crypto.cloud.ibm.com:9730', 'hpcs'],
    ['https://6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73.api.private.us-east.hs-crypto.appdomain.cloud', 'hpcs'],
    ['http://127.0.0.1:4000', undefined],
    ['https://kms.cloud.ibm.com.evil.example', undefined],
    ['not a url', undefined],
  ])('%s -> %s', (url, service) => {
    expect(serviceOfEndpoint(url)).toBe(service);
  });
});
