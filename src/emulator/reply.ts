import { randomUUID } from 'node:crypto';

/** A response the server will write: status, headers and an optional body. Pure data. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** Content type of KMS error bodies. */
export const KMS_ERROR_TYPE = 'application/vnd.ibm.kms.error+json';

/** A JSON reply. */
export function jsonReply(status: number, body: unknown, contentType = 'application/json'): Reply {
  return { status, headers: { 'content-type': contentType }, body: JSON.stringify(body) };
}

/** An empty reply, e.g. 204. */
export function emptyReply(status: number): Reply {
  return { status, headers: {} };
}

const PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The HTTP reason phrase for a status (generic for unlisted ones). */
export function reasonPhrase(status: number): string {
  return PHRASES[status] ?? (status >= 500 ? 'Server Error' : status >= 400 ? 'Client Error' : 'OK');
}

/** Options of {@link kmsError}. */
export interface KmsErrorOptions {
  /** Text after "<Reason phrase>: " in `errorMsg`. */
  readonly summary?: string;
  /** `target` of the reason; default none. */
  readonly target?: { readonly type: string; readonly name: string };
}

/** The real KMS error body: `{metadata:{collectionType,collectionTotal:1},resources:[{errorMsg,reasons:[...]}]}`. */
export function kmsErrorBody(status: number, code: string, message: string, options: KmsErrorOptions = {}): object {
  const reason: Record<string, unknown> = {
    code,
    message,
    status,
    moreInfo: 'https://cloud.ibm.com/apidocs/key-protect',
  };
  if (options.target) reason.target = options.target;
  return {
    metadata: { collectionType: KMS_ERROR_TYPE, collectionTotal: 1 },
    resources: [
      {
        errorMsg: `${reasonPhrase(status)}: ${options.summary ?? 'The request could not be completed. Please see "reasons" for more details.'}`,
        reasons: [reason],
      },
    ],
  };
}

/** A KMS error reply. */
export function kmsError(status: number, code: string, message: string, options: KmsErrorOptions = {}): Reply {
  return jsonReply(status, kmsErrorBody(status, code, message, options), KMS_ERROR_TYPE);
}

const GENERIC_KMS_CODES: Readonly<Record<number, [string, string]>> = {
  400: ['BAD_BODY_ERR', 'The request is not valid'],
  401: ['UNAUTHORIZED_ERR', 'The user does not have access to the specified resource'],
  403: ['FORBIDDEN_ERR', 'The user does not have the role required for this action; sync needs Writer or Manager'],
  404: ['KEY_NOT_FOUND_ERR', 'Key does not exist'],
  408: ['REQUEST_TIMEOUT_ERR', 'The request timed out'],
  409: ['KEY_ACTION_INVALID_STATE_ERR', 'Key is not in a valid state for this action'],
  410: ['KEY_DELETED_ERR', 'Key has already been deleted'],
  422: ['KEY_ROOT_REQ_ERR', 'Requested action can only be completed with a root key'],
  429: ['TOO_MANY_REQUESTS_ERR', 'Too many requests; retry later'],
  500: ['INTERNAL_SERVER_ERR', 'Internal server error; retry later'],
  501: ['NOT_IMPLEMENTED_ERR', 'This action is not implemented'],
  502: ['BAD_GATEWAY_ERR', 'Bad gateway; retry later'],
  503: ['SERVICE_UNAVAILABLE_ERR', 'The service is temporarily unavailable; retry later'],
  504: ['GATEWAY_TIMEOUT_ERR', 'Gateway timeout; retry later'],
};

/** A realistic KMS error reply for a bare status (used by faults). */
export function genericKmsError(status: number): Reply {
  const [code, message] = GENERIC_KMS_CODES[status] ?? [status >= 500 ? 'INTERNAL_SERVER_ERR' : 'BAD_REQUEST_ERR', reasonPhrase(status)];
  return kmsError(status, code, message);
}

/** An IAM error body: `{errorCode, errorMessage, context:{requestId}}`. */
export function iamError(status: number, errorCode: string, errorMessage: string): Reply {
  const requestId = randomUUID();
  return jsonReply(status, {
    errorCode,
    errorMessage,
    context: { requestId, requestType: 'incoming.OIDC_Token', clusterName: 'iam-emulator', instanceId: 'iamid-emulator', host: 'iam-emulator' },
  });
}

/** A realistic IAM error reply for a bare status (used by faults). */
export function genericIamError(status: number): Reply {
  if (status === 400) return iamError(400, 'BXNIM0415E', 'Provided API key could not be found.');
  if (status === 401) return iamError(401, 'BXNIM0436E', 'Unauthorized request.');
  if (status === 429) return iamError(429, 'BXNIM0491E', 'Too many requests. Try again later.');
  return iamError(status, 'BXNIM0100E', `${reasonPhrase(status)}: the IAM service could not process the request.`);
}

/** A gateway-style HTML error page, as a load balancer would send. */
export function htmlPage(status: number): Reply {
  const phrase = reasonPhrase(status);
  const body = `<!DOCTYPE html>\n<html><head><title>${status} ${phrase}</title></head>\n<body><center><h1>${status} ${phrase}</h1></center>\n<hr><center>cloudflare</center>\n</body></html>\n`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
}
