/**
 * `key-sync sync` for many keys: repeated --key-id, --keys-file, or --all-registered.
 * The keys file is read and checked before any request; aliases are resolved so the same
 * key under two names is synced once; then the fleet runs (fleet-runner.ts).
 */
import { readFileSync } from 'node:fs';
import type { KmsClient, RegistrationsResult } from '../../client/kms-client';
import { isUuid } from '../../domain';
import { syncFleet } from '../fleet-runner';
import { KEYS_FILE_MAX_BYTES, parseKeysFile } from '../keys-file';
import type { FleetSyncConfig } from '../parse-command';
import { exitCodeFor } from '../output/exit-codes';
import { FleetProgress, fleetJson, fleetSubject, fleetTable, type FleetContext, type SameKey, type SkippedKey } from '../output/fleet';
import { skippedJson, statusFailure } from '../output/if-behind';
import { verdictSentence } from '../output/status';
import { gatherStatus } from '../status-runner';
import type { FleetKeyResult } from '../fleet-runner';
import { registrationsJson, registrationsText } from '../output/registrations';
import { listingFailedReportEntry, syncReportEntry } from '../output/report-line';
import type { TextSink } from '../output/sink';
import { plural } from '../output/words';
import { withClient, type RunIo } from './context';
import { recordRuns } from './record-runs';

/**
 * The keys known before any request: repeated --key-id, then the keys file (read and
 * checked here), without exact duplicates. A usage error message when the file is bad.
 */
export function fleetKeys(config: { readonly keyIds: readonly string[]; readonly keysFile?: string }): { ok: true; keys: string[]; duplicates: number } | { ok: false; message: string } {
  const keys: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const add = (k: string): void => {
    const id = isUuid(k) ? k.toLowerCase() : k;
    if (seen.has(id)) duplicates++;
    else {
      seen.add(id);
      keys.push(k);
    }
  };
  config.keyIds.forEach(add);
  if (config.keysFile !== undefined) {
    let text: string;
    try {
      const buf = readFileSync(config.keysFile);
      if (buf.length > KEYS_FILE_MAX_BYTES) throw Object.assign(new Error('too large'), { code: `larger than ${KEYS_FILE_MAX_BYTES} bytes` });
      text = buf.toString('utf8');
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'unreadable';
      return { ok: false, message: `--keys-file ${config.keysFile} cannot be read (${code}); give a file with one key id or alias per line` };
    }
    const parsed = parseKeysFile(text, config.keysFile);
    if (!parsed.ok) return parsed;
    duplicates += parsed.duplicates;
    parsed.keys.forEach(add);
  }
  return { ok: true, keys, duplicates };
}

/**
 * Resolves the aliases of a fleet to key ids (one key read each) and keeps each key once,
 * under the name given first. An alias that cannot be read stays as it is: its sync then
 * reports why.
 */
async function sameKeysOnce(client: KmsClient, keys: readonly string[], config: FleetSyncConfig, signal: AbortSignal | undefined): Promise<{ keys: string[]; same: SameKey[] }> {
  const aliases = keys.filter((k) => !isUuid(k));
  if (keys.length < 2 || aliases.length === 0) return { keys: [...keys], same: [] };
  const ids = new Map<string, string>();
  await Promise.all(aliases.map(async (alias) => {
    const r = await client.getKey(alias, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (r.outcome === 'read' && r.key?.id !== undefined && isUuid(r.key.id)) ids.set(alias, r.key.id.toLowerCase());
  }));
  const firstName = new Map<string, string>();
  const out: string[] = [];
  const same: SameKey[] = [];
  for (const k of keys) {
    const id = isUuid(k) ? k.toLowerCase() : ids.get(k) ?? `alias:${k}`;
    const first = firstName.get(id);
    if (first === undefined) {
      firstName.set(id, k);
      out.push(k);
    } else {
      same.push({ given: k, keyId: first });
    }
  }
  return { keys: out, same };
}

function note(err: TextSink, text: string): void {
  err.write(`key-sync: ${text}\n`);
}

export function runFleetSync(config: FleetSyncConfig, given: readonly string[], io: RunIo): Promise<number> {
  return withClient(config, io, { maxConcurrentRequests: config.concurrency }, async ({ client, now, out, err, extraCaCerts }) => {
    const progress = new FleetProgress(err, io.isTTY, now);
    for (const n of config.notes) progress.note(`key-sync: ${n}`);
    const context: FleetContext = { instanceId: config.instanceId, credentialEnv: config.credentials.envName, extraCaCerts, ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }) };
    let keys: string[] = [...given];
    let registrations: number | undefined;
    let same: SameKey[] = [];
    const skipped: SkippedKey[] = [];
    const unreadable: FleetKeyResult[] = [];
    const listing = { instanceId: config.instanceId, credentialEnv: config.credentials.envName, extraCaCerts };
    /** Never a sync of part of the keys: a listing that did not complete syncs none. */
    const listingFailed = (reg: RegistrationsResult): number => {
      if (config.json) out.json(registrationsJson(reg, listing));
      else err.write(registrationsText(reg, listing));
      recordRuns(io.env ?? process.env, [listingFailedReportEntry(reg, { ...listing, ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }) }, new Date((io.now ?? Date.now)()))], client.sanitizer, err);
      return exitCodeFor(reg);
    };
    if (config.ifBehindGraceHours !== undefined) {
      // Only the keys that are behind are synced; the status run reads every key (so
      // aliases resolve) and lists registrations once.
      const statusContext = { instanceId: config.instanceId, credentialEnv: config.credentials.envName, extraCaCerts, graceHours: config.ifBehindGraceHours };
      const run = await gatherStatus(client, config.allRegistered ? 'all-registered' : keys, {
        instanceId: config.instanceId,
        ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
        graceMs: config.ifBehindGraceHours * 3_600_000,
        now,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
      if (run.listing !== undefined && run.listing.outcome !== 'listed') return listingFailed(run.listing);
      keys = [];
      const seen = new Set<string>();
      for (const k of run.keys) {
        const id = (k.uuid ?? k.keyId).toLowerCase();
        if (seen.has(id)) {
          same.push({ given: k.keyId, keyId: run.keys.find((x) => (x.uuid ?? x.keyId).toLowerCase() === id)?.keyId ?? id });
          continue;
        }
        seen.add(id);
        if (k.failedCall !== undefined) unreadable.push({ keyId: k.keyId, result: statusFailure(k.failedCall, config.maxWaitSeconds) });
        else if (k.status?.verdict === 'behind') keys.push(k.keyId);
        else skipped.push({ keyId: k.keyId, verdict: k.status?.verdict ?? 'unknown', message: verdictSentence(k, statusContext), json: skippedJson(k, statusContext) });
      }
      for (const s of same) note(err, `${s.given} and ${s.keyId} are the same key; it is synced once, as ${s.keyId}`);
      progress.note(`key-sync: ${plural(run.keys.length, 'key')} of instance ${config.instanceId}: ${keys.length} behind (syncing), ${skipped.length} not behind, ${unreadable.length} whose status could not be read (${plural(run.requests.keyReads, 'key read')}, ${plural(run.requests.listings, 'listing request')})`);
    } else if (config.allRegistered) {
      const reg = await client.listRegistrations({
        instanceId: config.instanceId,
        ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
        pageSize: 5000,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
      if (reg.outcome !== 'listed') return listingFailed(reg);
      registrations = reg.registrations.length;
      const seen = new Set<string>();
      let unusable = 0;
      keys = [];
      for (const r of reg.registrations) {
        const k = r.keyId;
        if (k === undefined || !isUuid(k)) {
          unusable++;
          continue;
        }
        if (!seen.has(k.toLowerCase())) {
          seen.add(k.toLowerCase());
          keys.push(k);
        }
      }
      progress.note(`key-sync: ${plural(registrations, 'registration')} name ${plural(keys.length, 'key')} of instance ${config.instanceId}${unusable > 0 ? ` (${unusable} without a usable key id, skipped)` : ''}${keys.length === 0 ? '; nothing to sync' : ''}`);
    } else {
      ({ keys, same } = await sameKeysOnce(client, keys, config, io.signal));
      for (const s of same) note(err, `${s.given} and ${s.keyId} are the same key; it is synced once, as ${s.keyId}`);
    }
    const result = await syncFleet(client, keys, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      maxWaitSeconds: config.maxWaitSeconds,
      concurrency: config.concurrency,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onChange: progress.update,
    }, now, unreadable);
    progress.finish();
    const source = config.allRegistered ? 'all-registered' : config.keysFile !== undefined ? 'keys-file' : 'key-id';
    if (config.json) {
      out.json(fleetJson(result, context, { source, concurrency: config.concurrency, ...(registrations === undefined ? {} : { registrations }), sameKeys: same, ...(config.ifBehindGraceHours === undefined ? {} : { skipped }) }));
    } else {
      out.write(fleetTable(result, context, skipped));
    }
    const at = new Date((io.now ?? Date.now)());
    recordRuns(io.env ?? process.env, result.keys.map((k) => syncReportEntry(k.result, fleetSubject(k.keyId, context), at)), client.sanitizer, err);
    return result.exitCode;
  });
}
