/**
 * A simulated Asterisk 22 AMI server for amiplex's demo mode, integration tests and benchmark.
 */
export { SimulatedPbx, type SimStats } from './simulated-pbx.js';
export type { SimUser, SimulatorOptions } from './options.js';
export { DEFAULT_USERS } from './options.js';
export type { SimEvent } from './event-shapes.js';
export { PERM } from './permissions.js';
