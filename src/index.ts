export * from './constructs';

// The key-management client (the same code the key-sync CLI runs), for scripts and tests.
export { KmsClient, MAX_PAGE_SIZE } from './client/kms-client';
export type {
  CallInfo,
  CallOptions,
  GateInfo,
  KeyInfo,
  KeyResult,
  KeyVersion,
  KmsClientOptions,
  ListRegistrationsOptions,
  ProgressEvent,
  Registration,
  RegistrationsResult,
  RotateOptions,
  RotateResult,
  Sleep,
  SyncOptions,
  SyncResult,
} from './client/kms-client';
export { KeySyncError, RETRY_LATER_CODES, parseErrorBody } from './client/errors';
export type { KeySyncErrorCode, ParsedErrorBody } from './client/errors';
export { codeOf, isRetryLater } from './client/failure';
export type { Failure, LastOutcome, ListingProblem, NotRotatable, ServerSaid, Service } from './client/failure';
export { ROTATION_GATE_MS, ROTATION_SKEW_ALLOWANCE_MS, notifiedByRotation, planRotation } from './client/rotation-policy';
export type { RotationRequest, RotationStep } from './client/rotation-policy';
export { LISTING_BOUNDS } from './client/paging';
export type { PageBounds } from './client/paging';
export { createSanitizer } from './client/sanitize';
export type { Sanitizer } from './client/sanitize';
export { credentialsFromEnv } from './client/iam';
export type { Credentials } from './client/iam';
export { DEFAULT_RETRY_LIMITS, backoffDelay, classify, gateDecision, parseGateTime, parseRetryAfter } from './client/retry-policy';
export type { AttemptOutcome, Decision, RetryLimits } from './client/retry-policy';
export * from './domain';
