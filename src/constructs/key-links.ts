/**
 * What a key's sync and its declared rotation know of each other, whichever is declared
 * first: the sync runs after the rotation (depends_on) and is told the rotation's
 * requested-at time (so a sync the rotation's gate refuses can tell the resources were
 * notified). Kept here, outside both constructs, so neither file imports the other.
 */
import type { TerraformResource } from './core';

/** A declared rotation, as a sync needs it. */
export interface RotationLink {
  /** Construct path of the KeyRotation (for messages). */
  readonly path: string;
  /** The resource that runs `key-sync rotate`. */
  readonly resource: TerraformResource;
  /** The requested-at time, as a Terraform reference (see KeyRotation.requestedAt). */
  readonly requestedAt: string;
}

const rotations = new WeakMap<object, RotationLink>();
const syncs = new WeakMap<object, TerraformResource>();

/** The rotation declared for `key`, if any. */
export function rotationOf(key: object): RotationLink | undefined {
  return rotations.get(key);
}

/** Records `key`'s rotation and orders an existing sync after it. */
export function linkRotation(key: object, link: RotationLink): void {
  rotations.set(key, link);
  const sync = syncs.get(key);
  if (sync !== undefined) runAfter(sync, link.resource);
}

/** Records `key`'s sync resource and orders it after an existing rotation. */
export function linkSync(key: object, resource: TerraformResource): void {
  syncs.set(key, resource);
  const rotation = rotations.get(key);
  if (rotation !== undefined) runAfter(resource, rotation.resource);
}

/**
 * Adds `first` to `resource`'s depends_on as a plain address (`terraform_data.x`):
 * Terraform's JSON syntax takes a static reference there and refuses the `${...}` form a
 * token (`fqn`) renders to on cdktf. Called after both logical ids are final.
 */
export function runAfter(resource: TerraformResource, first: TerraformResource): void {
  const address = `${first.terraformResourceType}.${first.friendlyUniqueId}`;
  const deps = resource.dependsOn ?? [];
  if (!deps.includes(address)) resource.dependsOn = [...deps, address];
}
