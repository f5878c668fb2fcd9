/**
 * The rotation hash, pure part (no cdktf import): the canonical document of what asks
 * for a rotation (which key, and the generation) and its SHA-256, in the same canonical
 * JSON as the sync hash (trigger-hash.ts), so a token input rendered as
 * `sha256(jsonencode({...}))` gives the same digest once Terraform knows it.
 *
 * Covered: the instance id, the key id and the generation. Not covered: the endpoint and
 * the key ring (the same key reached another way is not a new rotation: a second
 * rotation would be billed), `maxWaitSeconds`, the resource type and the CLI version.
 */
import { canonicalJson, sha256Hex } from './trigger-hash';

/** Version of the canonical document; bump only to make every declared rotation run again. */
export const ROTATION_HASH_VERSION = 1;

/** What the rotation hash covers. Strings may be Terraform tokens (see key-rotation.ts). */
export interface RotationHashInput {
  readonly instanceId: string;
  readonly keyId: string;
  /** The generation as text (numbers in decimal). */
  readonly generation: string;
}

/** The canonical document that is hashed. */
export interface RotationHashDocument {
  readonly v: number;
  readonly kind: 'rotation';
  readonly instanceId: string;
  readonly keyId: string;
  readonly generation: string;
}

export function rotationHashDocument(input: RotationHashInput): RotationHashDocument {
  return { v: ROTATION_HASH_VERSION, kind: 'rotation', instanceId: input.instanceId, keyId: input.keyId, generation: input.generation };
}

/** The literal rotation hash of inputs that are all known at synth. */
export function literalRotationHash(input: RotationHashInput): string {
  return sha256Hex(canonicalJson(rotationHashDocument(input)));
}
