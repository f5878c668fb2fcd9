import type { TokenIssuer } from './iam';
import { cutPage, pageSize, parseBool, parsePageQuery, type QueryError } from './paging';
import { applyRegistrationQuery, isQueryError, parseRegistrationQuery } from './registrations-query';
import { parseRotateBody } from './rotate-body';
import { emptyReply, jsonReply, kmsError, type Reply } from './reply';
import type { KeyAction, RouteName } from './routes';
import type { EmulatorState, KeyRecord, RegistrationRecord } from './state';

/**
 * The emulated key-management API: authorization, instance and key-ring checks, then the
 * route's logic. Takes parsed request data and returns a {@link Reply}; no I/O.
 */

/** What the key API needs from a request. */
export interface KmsRequest {
  readonly route: Exclude<RouteName, 'iam.token'>;
  readonly keyRef?: string;
  readonly action?: KeyAction;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly query: URLSearchParams;
  /** The request body (read by rotate only). */
  readonly body?: Buffer;
  readonly now: number;
}

const KEY_TYPE = 'application/vnd.ibm.kms.key+json';
const REGISTRATION_TYPE = 'application/vnd.ibm.kms.registration+json';
const KEY_VERSION_TYPE = 'application/vnd.ibm.kms.key_version+json';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 3339 UTC without fractional seconds, as the service prints dates. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function header(req: KmsRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The key as `GET /api/v2/keys/{id}` and `/metadata` return it (never a payload: root keys have none). */
export function keyResource(k: KeyRecord): Record<string, unknown> {
  const r: Record<string, unknown> = {
    type: KEY_TYPE,
    id: k.id,
    name: k.name,
    aliases: k.aliases,
    description: k.description,
    state: k.state,
    crn: k.crn,
    extractable: k.extractable,
    imported: k.imported,
    keyRingID: k.keyRingID,
    algorithmType: 'AES',
    algorithmMetadata: { bitLength: '256', mode: 'CBC_PAD' },
    creationDate: isoSeconds(k.creationDate),
    createdBy: k.createdBy,
    lastUpdateDate: isoSeconds(k.lastUpdateDate),
    keyVersion: { id: k.keyVersion.id, creationDate: isoSeconds(k.keyVersion.creationDate) },
    dualAuthDelete: { enabled: false },
    deleted: k.state === 5,
  };
  if (k.lastRotateDate !== undefined) r.lastRotateDate = isoSeconds(k.lastRotateDate);
  if (k.state === 5) r.deletionDate = isoSeconds(k.lastUpdateDate);
  return r;
}

function registrationResource(state: EmulatorState, r: RegistrationRecord & { readonly key: KeyRecord }): Record<string, unknown> {
  // the version protecting THIS resource, which lags the key's after a rotation until the
  // resource acknowledges it
  const v = state.registrationVersion(r.key, r);
  return {
    keyId: r.keyId,
    keyName: r.key.name,
    resourceCrn: r.resourceCrn,
    createdBy: r.createdBy,
    creationDate: isoSeconds(r.creationDate),
    updatedBy: r.updatedBy,
    lastUpdated: isoSeconds(r.lastUpdated),
    description: r.description,
    preventKeyDeletion: r.preventKeyDeletion,
    keyVersion: { id: v.id, creationDate: isoSeconds(v.creationDate) },
  };
}

/** Checks `Authorization: Bearer <token>`; returns a 401 reply or undefined when valid. */
export function checkAuthorization(req: KmsRequest, tokens: TokenIssuer): Reply | undefined {
  const auth = header(req, 'authorization');
  const unauthorized = (message: string): Reply =>
    kmsError(401, 'UNAUTHORIZED_ERR', message, {
      summary: 'The user does not have access to the specified resource',
      target: { type: 'header', name: 'Authorization' },
    });
  if (auth === undefined || auth === '') {
    return unauthorized("The Authorization header is missing; send 'Authorization: Bearer <IAM access token>'");
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (!m) return unauthorized("The Authorization header must be 'Bearer <IAM access token>'");
  const verdict = tokens.verify(m[1] as string, req.now);
  if (!verdict.ok) {
    return unauthorized(
      verdict.reason === 'expired'
        ? 'The IAM access token has expired; request a new token'
        : 'The IAM access token is not valid; request a new token',
    );
  }
  return undefined;
}

/** Handles one key-API request. */
export function handleKms(req: KmsRequest, state: EmulatorState, tokens: TokenIssuer): Reply {
  const denied = checkAuthorization(req, tokens);
  if (denied) return denied;

  const instanceId = header(req, 'bluemix-instance');
  if (instanceId === undefined || instanceId.trim() === '') {
    return kmsError(400, 'BAD_HEADER_ERR', 'The Bluemix-Instance header is required: send the GUID of your Key Protect or HPCS instance', {
      summary: 'Bad request header. Please see "reasons" for more details.',
      target: { type: 'header', name: 'Bluemix-Instance' },
    });
  }
  if (!UUID.test(instanceId.trim()) || state.instance(instanceId.trim()) === undefined) {
    return kmsError(401, 'UNAUTHORIZED_ERR', 'The user does not have access to the specified resource: check the Bluemix-Instance header names your instance GUID', {
      summary: 'The user does not have access to the specified resource',
      target: { type: 'header', name: 'Bluemix-Instance' },
    });
  }
  const instance = instanceId.trim();
  const ring = header(req, 'x-kms-key-ring');
  if (ring !== undefined && !state.hasKeyRing(instance, ring)) {
    return kmsError(404, 'KEY_RING_NOT_FOUND_ERR', `Key ring '${ring.slice(0, 100)}' does not exist in this instance`, {
      summary: 'Key ring could not be found.',
      target: { type: 'header', name: 'X-Kms-Key-Ring' },
    });
  }

  if (req.route === 'registrations.all') return listRegistrations(req, state, state.registrationsOf(instance, req.now, ring));

  const ref = req.keyRef ?? '';
  const key = state.findKey(instance, ref);
  if (!key || (ring !== undefined && key.keyRingID !== ring)) {
    return kmsError(404, 'KEY_NOT_FOUND_ERR', 'Key does not exist', {
      summary: 'Key could not be found. Please see "reasons" for more details.',
      target: { type: 'field', name: 'id' },
    });
  }

  switch (req.route) {
    case 'keys.get':
      if (key.state === 5) {
        return kmsError(410, 'KEY_DELETED_ERR', 'Key has already been deleted. Please delete references to this key', {
          summary: 'Key has been deleted.',
          target: { type: 'field', name: 'id' },
        });
      }
      return keyReply(key);
    case 'keys.metadata':
      return keyReply(key);
    case 'keys.sync':
    case 'keys.action': {
      const action = req.action ?? 'rotate';
      const outcome =
        req.route === 'keys.sync' ? state.sync(key, req.now) : state.action(key, action, req.now, action === 'rotate' ? parseRotateBody(req.body) : undefined);
      if (!outcome.ok) {
        const field = outcome.code === 'KEY_PAYLOAD_REQ_ERR' ? 'payload' : 'id';
        return kmsError(outcome.status, outcome.code, outcome.message, { summary: outcome.summary, target: { type: 'field', name: field } });
      }
      if (req.route === 'keys.action' && /return=representation/i.test(header(req, 'prefer') ?? '')) return keyReply(key);
      return emptyReply(204);
    }
    case 'keys.versions':
      return listVersions(req, state, key);
    case 'registrations.key':
      return listRegistrations(req, state, state.registrationsOfKey(key, req.now));
  }
}

function keyReply(key: KeyRecord): Reply {
  return jsonReply(200, { metadata: { collectionType: KEY_TYPE, collectionTotal: 1 }, resources: [keyResource(key)] });
}

function queryError(q: QueryError): Reply {
  return kmsError(400, 'INVALID_QUERY_PARAM_ERR', q.message, {
    summary: 'Bad query parameter. Please see "reasons" for more details.',
    target: { type: 'query_param', name: q.parameter },
  });
}

function listRegistrations(req: KmsRequest, state: EmulatorState, items: Iterable<RegistrationRecord & { readonly key: KeyRecord }>): Reply {
  const q = parseRegistrationQuery(req.query);
  if (isQueryError(q)) return queryError(q);
  const { page, total } = applyRegistrationQuery(items, q, state.settings.maxPageSize);
  const metadata: Record<string, unknown> = { collectionType: REGISTRATION_TYPE, collectionTotal: page.length };
  if (q.totalCount) metadata.totalCount = total;
  return jsonReply(200, { metadata, resources: page.map((r) => registrationResource(state, r)) });
}

/** `GET /api/v2/keys/{id}/versions`: newest first, paged like the other listings. */
function listVersions(req: KmsRequest, state: EmulatorState, key: KeyRecord): Reply {
  const q = parsePageQuery(req.query);
  if (isQueryError(q)) return queryError(q);
  const rawAll = req.query.get('allKeyStates');
  const allKeyStates = rawAll === null ? false : parseBool(rawAll);
  if (allKeyStates === undefined) return queryError({ parameter: 'allKeyStates', message: "The query parameter 'allKeyStates' must be true or false" });
  // IBM's clients send allKeyStates to list the versions of a key in any state; the
  // emulator answers a destroyed key's versions only then (410 otherwise, as its read)
  if (key.state === 5 && !allKeyStates) {
    return kmsError(410, 'KEY_DELETED_ERR', 'Key has already been deleted; list its versions with allKeyStates=true', {
      summary: 'Key has been deleted.',
      target: { type: 'field', name: 'id' },
    });
  }
  const newestFirst = function* (): Iterable<{ id: string; creationDate: number }> {
    for (let i = key.versions.length - 1; i >= 0; i--) yield key.versions[i] as { id: string; creationDate: number };
  };
  const { page, total } = cutPage(newestFirst(), q.offset, pageSize(q.limit, state.settings.maxPageSize));
  const metadata: Record<string, unknown> = { collectionType: KEY_VERSION_TYPE, collectionTotal: page.length };
  if (q.totalCount) metadata.totalCount = total;
  return jsonReply(200, { metadata, resources: page.map((v) => ({ id: v.id, creationDate: isoSeconds(v.creationDate) })) });
}
