/**
 * Rules shared by the constructs (synth time) and the CLI (before any request): ids, CRNs,
 * endpoints, markers, limits and defaults. Pure: no cdktf, no I/O.
 */
export * from './crn';
export * from './endpoints';
export * from './ids';
export * from './limits';
export * from './markers';
export * from './generation';
