/**
 * The local emulator of IBM Cloud IAM and the Key Protect / HPCS key API subset key-sync
 * uses. Start it in-process with {@link startEmulator}; `key-sync emulator` runs it from
 * the command line (see `cli-command.ts`).
 */
export { startEmulator, isLoopbackHost, MAX_BODY_BYTES } from './server';
export type { EmulatorOptions, RunningEmulator } from './server';
export { EmulatorClock } from './clock';
export { EmulatorState } from './state';
export type { KeyRecord, KeyVersionRecord, RegistrationRecord } from './state';
export { DEFAULT_SEED, DEMO_API_KEY, loadSeedFile, parseSeed } from './seed';
export type { KeyState, Seed, SeedInstance, SeedKey, SeedKeyVersion, SeedRegistration } from './seed';
export type { CatchUp } from './registration-catch-up';
export type { EmulatorSettings, EmulatorSettingsInput } from './settings';
export type { Fault, FaultReset, FaultTarget } from './faults';
export type { RequestLogEntry } from './request-log';
export { ROUTE_NAMES } from './routes';
export type { RouteName } from './routes';
