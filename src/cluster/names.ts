/**
 * Every NATS name a cluster uses, from its name (`[cluster] name`): the subjects, the event
 * stream and the lease bucket. Pure.
 *
 *   amiplex.<cluster>.events.<server>      one event of a PBX, published by its holder (stream <cluster>-events)
 *   amiplex.<cluster>.node.<node>.action   an action for a PBX that node holds (request; answers on the reply subject)
 *   amiplex.<cluster>.node.<node>.ping     is that node still there (no responders: it is gone)
 *   amiplex.<cluster>.reply.<node>.<instance>.<n>   the answer messages to one forwarded action
 *   KV bucket <cluster>-leases: node.<node> and pbx.<server>
 */
export interface ClusterNames {
  readonly bucket: string;
  readonly stream: string;
  /** The subjects of the stream: `eventsPrefix` followed by a server name. */
  readonly eventsPrefix: string;
  events(server: string): string;
  actions(node: string): string;
  ping(node: string): string;
  replies(node: string, instance: string): string;
  nodeKey(node: string): string;
  pbxKey(server: string): string;
}

export function clusterNames(cluster: string): ClusterNames {
  const base = `amiplex.${cluster}`;
  return {
    bucket: `${cluster}-leases`,
    stream: `${cluster}-events`,
    eventsPrefix: `${base}.events.`,
    events: (server) => `${base}.events.${server}`,
    actions: (node) => `${base}.node.${node}.action`,
    ping: (node) => `${base}.node.${node}.ping`,
    replies: (node, instance) => `${base}.reply.${node}.${instance}`,
    nodeKey: (node) => `node.${node}`,
    pbxKey: (server) => `pbx.${server}`,
  };
}
