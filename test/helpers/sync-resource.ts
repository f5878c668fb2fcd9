/**
 * The synthesized sync resource of a KeySync, whichever resource type carries it
 * (`null_resource` puts the trigger map in `triggers`, `terraform_data` in
 * `triggers_replace`), so construct tests can run on either core.
 */
import type { KeySyncResourceType } from '../../src';

export interface SyncResourceJson {
  readonly triggers?: Record<string, string>;
  readonly triggers_replace?: Record<string, string>;
  readonly provisioner: Array<{ 'local-exec': { command: string; environment?: unknown; when?: string } }>;
}

export interface SynthJson {
  readonly resource?: Partial<Record<KeySyncResourceType, Record<string, SyncResourceJson>>>;
  readonly [k: string]: unknown;
}

/** The resources of `type` in a synthesized stack (an error if there are none). */
export function syncResources(json: SynthJson, type: KeySyncResourceType): Record<string, SyncResourceJson> {
  const found = json.resource?.[type];
  if (found === undefined) throw new Error(`no ${type} in the synthesized stack (it has: ${Object.keys(json.resource ?? {}).join(', ') || 'no resources'})`);
  return found;
}

/** The trigger map of a sync resource, from the attribute its type uses. */
export function triggersOf(r: SyncResourceJson): Record<string, string> {
  const t = r.triggers ?? r.triggers_replace;
  if (t === undefined) throw new Error('the sync resource has neither triggers nor triggers_replace');
  return t;
}

/** The provisioner command of a sync resource. */
export function commandOf(r: SyncResourceJson): string {
  return r.provisioner[0]!['local-exec'].command;
}
