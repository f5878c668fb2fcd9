import { Construct } from 'constructs';
import { Token } from './core';
import { duplicateCrn, invalidCrn } from './errors';
import { checkCrn } from '../domain';

const ASSOCIATION_SYMBOL = Symbol.for('cdktf-key-sync.KeyAssociation');

/** Props of a {@link KeyAssociation} (what `key.associate(id, props)` takes). */
export interface KeyAssociationProps {
  /**
   * CRN of the resource the key protects (a COS bucket, a Cloud Databases deployment,
   * ...), e.g. `crn:v1:bluemix:public:cloud-object-storage:global:a/<account>:<instance>:bucket:<name>`.
   * A Terraform token is accepted (e.g. `bucket.crn` from the IBM provider).
   */
  readonly resourceCrn: string;
  /**
   * A note for humans; not part of the trigger hash, never sent anywhere.
   * @default - none
   */
  readonly description?: string;
}

/**
 * A declared association ("registration") between a root key and a resource it protects.
 * Declarative data only: it creates no Terraform resource; the key's {@link KeySync}
 * hashes the set of CRNs, so adding, removing or changing one re-triggers the sync.
 * Create it with `key.associate(id, props)` (or `new KeyAssociation(key, id, props)`).
 */
export class KeyAssociation extends Construct {
  /** Whether `x` is a KeyAssociation (works across copies of this package). */
  public static isKeyAssociation(x: unknown): x is KeyAssociation {
    return typeof x === 'object' && x !== null && ASSOCIATION_SYMBOL in x;
  }

  /** The associated resource's CRN. */
  public readonly resourceCrn: string;
  /** The description, if any. */
  public readonly description?: string;

  /**
   * @param scope the RootKey this association belongs to
   * @param id construct id, unique among the key's children
   * @throws KeySyncConfigError for a malformed CRN or a CRN already associated with the key
   */
  public constructor(scope: Construct, id: string, props: KeyAssociationProps) {
    // Find a duplicate before registering this child, so a failed association leaves no trace.
    const existing = scope.node.children.find((c) => KeyAssociation.isKeyAssociation(c) && c.resourceCrn === props.resourceCrn);
    const path = scope.node.path ? `${scope.node.path}/${id}` : id;
    if (!Token.isUnresolved(props.resourceCrn)) {
      const bad = checkCrn(props.resourceCrn);
      if (bad) throw invalidCrn(path, props.resourceCrn, bad);
    }
    if (existing) throw duplicateCrn(path, props.resourceCrn, existing.node.path);
    super(scope, id);
    Object.defineProperty(this, ASSOCIATION_SYMBOL, { value: true });
    this.resourceCrn = props.resourceCrn;
    this.description = props.description;
  }
}
