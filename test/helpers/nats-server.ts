/** A real nats-server for the cluster tests: the benchmark's (bench/nats-server.ts), shared. */
export { startNats, type NatsServer } from '../../bench/nats-server.js';
