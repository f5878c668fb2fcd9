export * from './cli-asset';
export * from './errors';
export * from './key-association';
export * from './key-sync';
export * from './kms-instance';
export * from './root-key';
export * from './trigger-hash';
export * from '../domain';
