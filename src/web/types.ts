/**
 * The shape of `/status.json` as the page reads it: the browser's copy of the server's
 * StatusReport (src/status/status-report.ts), kept apart because the page is built for the
 * browser with its own tsconfig. test/status-page.test.ts checks both against a live answer.
 */

export type ServerState = 'connecting' | 'authenticating' | 'up' | 'down' | 'stopped';

export interface ServerReport {
  readonly name: string;
  readonly state: ServerState;
  readonly amiVersion: string | null;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly stateSince: string;
  readonly upSince: string | null;
  readonly uptimeS: number | null;
  readonly eventsIn: number;
  readonly eventsPerSecond: number | null;
  readonly reconnects: number;
  readonly pendingActions: number;
  readonly lastError: string | null;
}

export interface ClientReport {
  readonly kind: 'ami' | 'sse' | 'websocket';
  readonly id: number;
  readonly user: string | null;
  readonly remote: string;
  readonly format: string;
  readonly eventsSent: number;
  readonly eventsDropped: number | null;
  readonly buffered: number;
  readonly connectedAt: string;
  readonly connectedS: number;
}

export interface StatusReport {
  readonly amiplex: { readonly version: string; readonly startedAt: string; readonly uptimeS: number; readonly now: string };
  readonly me: { readonly name: string; readonly servers: readonly string[]; readonly channels: readonly string[]; readonly context: string | null };
  readonly totals: {
    readonly eventsIn: number;
    readonly eventsPerSecond: number | null;
    readonly eventsDelivered: number;
    readonly eventsDropped: number;
    readonly actionsForwarded: number;
    readonly failedLogins: number;
    readonly slowClientsDropped: number;
    readonly amiClients: number;
    readonly eventStreams: number;
    readonly webSockets: number;
    readonly httpSessions: number;
  };
  readonly servers: readonly ServerReport[];
  readonly clients: readonly ClientReport[];
  readonly clientsOmitted: number;
}

/** One event of `GET /events`: the json format's object (a repeated name holds an array). */
export type AmiEvent = Readonly<Record<string, string | readonly string[]>>;
