import { parseCommand } from '../../src/cli/parse-command';
import { displayUrl } from '../../src/domain/endpoints';
import { credentialsFromEnv } from '../../src/client/iam';
import { KmsInstance } from '../../src';

// An endpoint with credentials in it is refused; the refusal must not echo them.
const SECRET = 'CANARY-pw-5f1e';
const WITH_USERINFO = `https://ops:${SECRET}@us-south.kms.cloud.ibm.com`;

test.each([
  [WITH_USERINFO, 'https://<redacted>@us-south.kms.cloud.ibm.com'],
  [`http://${SECRET}@127.0.0.1:8080/x`, 'http://<redacted>@127.0.0.1:8080/x'],
  ['https://us-south.kms.cloud.ibm.com/a@b', 'https://us-south.kms.cloud.ibm.com/a@b'],
  ['not a url', 'not a url'],
])('displayUrl(%s)', (raw, shown) => {
  expect(displayUrl(raw)).toBe(shown);
});

test('CLI: --endpoint and IBMCLOUD_KP_API_ENDPOINT with user info are refused without echoing it', () => {
  const env = { IBMCLOUD_API_KEY: 'k' };
  const base = ['sync', '--instance-id', '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', '--key-id', 'payments-root'];
  for (const cmd of [
    parseCommand([...base, '--endpoint', WITH_USERINFO], env),
    parseCommand(base, { ...env, IBMCLOUD_KP_API_ENDPOINT: WITH_USERINFO }),
  ]) {
    expect(cmd.kind).toBe('usage-error');
    const text = JSON.stringify(cmd);
    expect(text).toMatch(/user information/);
    expect(text).not.toContain(SECRET);
  }
});

test('IAM: IBMCLOUD_IAM_API_ENDPOINT with user info is refused without echoing it', () => {
  const r = credentialsFromEnv({ IBMCLOUD_API_KEY: 'k', IBMCLOUD_IAM_API_ENDPOINT: WITH_USERINFO });
  expect(JSON.stringify(r)).toMatch(/user information/);
  expect(JSON.stringify(r)).not.toContain(SECRET);
});

test('constructs: KmsInstance.fromEndpoint with user info fails at synth without echoing it', () => {
  let message = '';
  try {
    KmsInstance.fromEndpoint({ instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', endpoint: WITH_USERINFO });
  } catch (e) {
    message = `${(e as Error).message}\n${(e as Error).stack}`;
  }
  expect(message).toMatch(/endpoint.*user information/s);
  expect(message).not.toContain(SECRET);
});
