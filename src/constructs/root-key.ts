import { Construct } from 'constructs';
import { Token } from './core';
import { invalidKeyId, invalidKeyRing, invalidLifecycleState, invalidMarker, syncAlreadyDefined } from './errors';
import { KeyAssociation, type KeyAssociationProps } from './key-association';
import { KeyRotation, type KeyRotationOptions } from './key-rotation';
import { KeySync, type KeySyncOptions } from './key-sync';
import type { KmsInstance } from './kms-instance';
import { checkKeyId, checkKeyRing, checkMarker } from '../domain';

const ROOT_KEY_SYMBOL = Symbol.for('cdktf-key-sync.RootKey');

/**
 * The state you declare a key to be in. Key Protect / HPCS report states as numbers:
 * `active` is 1, `disabled` is 2 (suspended), `deleted` is 5 (destroyed). Declaring the
 * state after you disable, enable, delete or restore a key re-triggers the sync, which
 * re-notifies the associated resources of the event.
 */
export type KeyLifecycleState = 'active' | 'disabled' | 'deleted';

/** The states {@link KeyLifecycleState} allows. */
export const KEY_LIFECYCLE_STATES: readonly KeyLifecycleState[] = ['active', 'disabled', 'deleted'];

/**
 * Declared lifecycle markers of a key. They are not read from the service: they are what
 * you state in code, and changing any of them re-triggers the key's sync (each shows up
 * in the null_resource's triggers, so `terraform plan` says why the sync runs).
 */
export interface KeyLifecycle {
  /**
   * The state you expect the key to be in.
   * @default - not declared
   */
  readonly state?: KeyLifecycleState;
  /**
   * A marker you bump whenever the key is rotated elsewhere (by hand, a policy, another
   * tool), to re-sync its resources, e.g. the rotation date `2026-11-01`. To have the key
   * rotated from code, use {@link RootKey.rotate} instead: a rotation notifies the
   * resources itself, and its generation is not in the sync hash.
   * a ticket id, or a token such as the key's last rotation time from a data source.
   * 1-256 printable ASCII characters without `" \ $ % { }`.
   * @default - not declared
   */
  readonly rotation?: string;
}

/** Props of a {@link RootKey}. */
export interface RootKeyProps {
  /** The instance that holds the key. */
  readonly instance: KmsInstance;
  /** The key's UUID or alias (a Terraform token is accepted, e.g. `ibm_kms_key.x.key_id`). */
  readonly keyId: string;
  /**
   * The key ring the key is in; sent as `X-Kms-Key-Ring`.
   * @default - none (the service finds the key in any ring)
   */
  readonly keyRing?: string;
  /**
   * A human-readable name for docs and logs; not part of the trigger hash.
   * @default - none
   */
  readonly name?: string;
  /**
   * Declared lifecycle markers whose change re-triggers the sync.
   * @default - none
   */
  readonly lifecycle?: KeyLifecycle;
}

/**
 * An existing root key in a Key Protect or HPCS instance, declared with the resources it
 * protects ({@link associate}) and, usually, a {@link KeySync} ({@link sync}) that asks
 * the service to re-notify them whenever what is declared here changes.
 * It creates no Terraform resource by itself.
 */
export class RootKey extends Construct {
  /** Whether `x` is a RootKey (works across copies of this package). */
  public static isRootKey(x: unknown): x is RootKey {
    return typeof x === 'object' && x !== null && ROOT_KEY_SYMBOL in x;
  }

  /** The instance holding the key. */
  public readonly instance: KmsInstance;
  /** The key's UUID or alias. */
  public readonly keyId: string;
  /** The key ring, if declared. */
  public readonly keyRing?: string;
  /** The human-readable name, if declared. */
  public readonly name?: string;
  /** The declared lifecycle markers (empty when none). */
  public readonly lifecycle: KeyLifecycle;

  /**
   * @throws KeySyncConfigError for a key id that is neither a UUID nor an alias, a bad key
   *   ring, an unknown lifecycle state or an unusable rotation marker
   */
  public constructor(scope: Construct, id: string, props: RootKeyProps) {
    super(scope, id);
    Object.defineProperty(this, ROOT_KEY_SYMBOL, { value: true });
    const path = this.node.path;
    if (!Token.isUnresolved(props.keyId)) {
      const bad = checkKeyId(props.keyId);
      if (bad) throw invalidKeyId(path, props.keyId, bad);
    }
    if (props.keyRing !== undefined && !Token.isUnresolved(props.keyRing)) {
      const bad = checkKeyRing(props.keyRing);
      if (bad) throw invalidKeyRing(path, props.keyRing, bad);
    }
    const lifecycle = props.lifecycle ?? {};
    if (lifecycle.state !== undefined && !Token.isUnresolved(lifecycle.state) && !KEY_LIFECYCLE_STATES.includes(lifecycle.state)) {
      throw invalidLifecycleState(path, lifecycle.state, KEY_LIFECYCLE_STATES);
    }
    if (lifecycle.rotation !== undefined && !Token.isUnresolved(lifecycle.rotation)) {
      const bad = checkMarker(lifecycle.rotation);
      if (bad) throw invalidMarker(path, 'lifecycle.rotation', lifecycle.rotation, bad);
    }
    this.instance = props.instance;
    this.keyId = props.keyId;
    this.keyRing = props.keyRing;
    this.name = props.name;
    this.lifecycle = { ...(lifecycle.state !== undefined ? { state: lifecycle.state } : {}), ...(lifecycle.rotation !== undefined ? { rotation: lifecycle.rotation } : {}) };
  }

  /**
   * Declares that this key protects the resource with the given CRN.
   * @param id construct id of the association (unique among this key's children)
   * @throws KeySyncConfigError for a malformed CRN or one already associated with this key
   */
  public associate(id: string, props: KeyAssociationProps): KeyAssociation {
    return new KeyAssociation(this, id, props);
  }

  /** The associations declared so far, in declaration order. */
  public get associations(): readonly KeyAssociation[] {
    return this.node.children.filter(KeyAssociation.isKeyAssociation);
  }

  /**
   * Declares the sync of this key: a `KeySync` with construct id `Sync` under the key.
   * Associations declared after this call are still covered (the hash is computed at synth).
   * @throws KeySyncConfigError when called a second time
   */
  public sync(props: KeySyncOptions = {}): KeySync {
    const existing = this.node.tryFindChild('Sync');
    if (existing) throw syncAlreadyDefined(this.node.path, existing.node.path);
    return new KeySync(this, 'Sync', { ...props, key: this });
  }

  /**
   * Declares the rotation of this key: a {@link KeyRotation} with construct id `Rotation`
   * under the key, which rotates it exactly once per value of `generation`. The key's sync
   * (declared before or after) runs after the rotation.
   * @throws KeySyncConfigError for a bad generation or maxWaitSeconds, or when the key
   *   already has a declared rotation
   */
  public rotate(options: KeyRotationOptions): KeyRotation {
    return new KeyRotation(this, 'Rotation', { ...options, key: this });
  }
}
