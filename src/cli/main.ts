// Placeholder: replaced by the CLI (issue 3).
declare const KEY_SYNC_VERSION: string;
process.stdout.write(`key-sync ${typeof KEY_SYNC_VERSION === 'string' ? KEY_SYNC_VERSION : 'dev'}\n`);
