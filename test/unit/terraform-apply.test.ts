import { resourceOutcome } from '../../scripts/lib/terraform-apply';

// Fragments of real `terraform apply -no-color` output (Terraform 1.11, terraform_data).
const replacedThenGated = {
  status: 1,
  stdout: `
  # terraform_data.AnalyticsKey_sync will be created
  + resource "terraform_data" "AnalyticsKey_sync" {
    }

  # terraform_data.PaymentsKey_sync must be replaced
-/+ resource "terraform_data" "PaymentsKey_sync" {
      ~ id               = "e1c2" -> (known after apply)
      ~ triggers_replace = {
          ~ key_rotation      = "r2" -> "r3"
          ~ sync_hash         = "ca39" -> "70dc"
            # (3 unchanged attributes hidden)
        }
    }

Plan: 2 to add, 0 to change, 1 to destroy.
terraform_data.AnalyticsKey_sync: Creating...
terraform_data.AnalyticsKey_sync (local-exec): Executing: ["/bin/sh" "-c" "node ..."]
terraform_data.AnalyticsKey_sync (local-exec): key-sync: synced key c7e2
terraform_data.AnalyticsKey_sync: Creation complete after 0s [id=7c9e]
terraform_data.PaymentsKey_sync: Creating...
terraform_data.PaymentsKey_sync (local-exec): key-sync: not synced yet, key 4a1e: sync time gate closed
`,
  stderr: `
Error: local-exec provisioner error

  with terraform_data.PaymentsKey_sync,
  on cdk.tf.json line 46, in resource.terraform_data.PaymentsKey_sync.provisioner[0].local-exec:

Error running command 'node ...': exit status 75. Output: key-sync: not synced yet
`,
};

test.each([
  ['terraform_data.AnalyticsKey_sync', { action: 'create', reason: 'new', exitCode: 0, stdout: 'key-sync: synced key c7e2' }],
  [
    'terraform_data.PaymentsKey_sync',
    { action: 'replace', reason: 'triggers changed: key_rotation, sync_hash', exitCode: 75, stdout: 'key-sync: not synced yet, key 4a1e: sync time gate closed' },
  ],
  ['terraform_data.Other_sync', { action: 'no-op', reason: 'unchanged' }],
])('reads %s out of a real apply', (address, expected) => {
  expect(resourceOutcome(address, replacedThenGated)).toEqual({ address, ...expected });
});

test('a tainted resource is reported as such', () => {
  const run = {
    status: 0,
    stdout: '  # null_resource.K_sync is tainted, so must be replaced\n-/+ resource "null_resource" "K_sync" {\n}\nPlan: 1 to add\nnull_resource.K_sync: Creation complete after 0s [id=1]\n',
    stderr: '',
  };
  expect(resourceOutcome('null_resource.K_sync', run)).toEqual(
    expect.objectContaining({ action: 'replace', reason: 'tainted by a failed provisioner', exitCode: 0 }),
  );
});
