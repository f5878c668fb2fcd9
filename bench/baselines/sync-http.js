'use strict';
// The plain `node:http` baseline of the apply-scale bench: the same two requests as
// sync-curl.sh (IAM token exchange, then the sync) with nothing but Node's own client.
//   node sync-http.js INSTANCE_ID KEY_ID
const [instanceId, keyId] = process.argv.slice(2);
const env = process.env;

function post(url, headers, body) {
  const u = new URL(url);
  const mod = require(u.protocol === 'https:' ? 'node:https' : 'node:http');
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

(async () => {
  const iam = await post(`${env.IBMCLOUD_IAM_API_ENDPOINT}/identity/token`, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${encodeURIComponent(env.IBMCLOUD_API_KEY)}`);
  if (iam.status !== 200) throw new Error(`IAM answered ${iam.status}`);
  const token = JSON.parse(iam.text).access_token;
  const sync = await post(`${env.IBMCLOUD_KP_API_ENDPOINT}/api/v2/keys/${encodeURIComponent(keyId)}/actions/sync`,
    { authorization: `Bearer ${token}`, 'bluemix-instance': instanceId }, '');
  if (sync.status !== 204) throw new Error(`sync answered ${sync.status}`);
})().catch((e) => {
  process.stderr.write(`sync-http: ${e.message}\n`);
  process.exitCode = 1;
});
