/**
 * A PBX that misbehaves on purpose, for the chaos suite: an AMI server whose answers to the
 * actions amiplex forwards go wrong in turn — twice, after garbage, under a stranger's ActionID,
 * never, as a list that never completes, with a line over amiplex's limit, or by dropping the
 * connection — and whose reconnections sometimes start with a banner that is not AMI or a
 * refused login. amiplex's own keepalive Pings are answered normally.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { AmiDecoder } from '../../src/ami/decoder.js';
import { encodeMessage } from '../../src/ami/encoder.js';
import { getHeader, type AmiHeader, type AmiMessage } from '../../src/ami/message.js';

export const MISBEHAVIOURS = ['normal', 'duplicate', 'garbage', 'stranger', 'silent', 'unfinished-list', 'huge-line', 'stray-event', 'disconnect'] as const;
export type Misbehaviour = (typeof MISBEHAVIOURS)[number];

const WELCOMES = ['good', 'bad-banner', 'good', 'login-refused', 'good', 'garbage-banner'] as const;

export class HostilePbx {
  readonly done = new Map<Misbehaviour, number>();
  connections = 0;
  refusedConnections = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: net.Server | undefined;
  private next = 0;

  async start(): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }

  private accept(socket: net.Socket): void {
    const welcome = WELCOMES[this.connections++ % WELCOMES.length]!;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    if (welcome === 'bad-banner' || welcome === 'garbage-banner') {
      this.refusedConnections++;
      socket.end(welcome === 'bad-banner' ? 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n' : randomBytes(3000));
      return;
    }
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    const send = (headers: AmiHeader[]): void => {
      if (!socket.destroyed) socket.write(encodeMessage({ headers }));
    };
    const decoder = new AmiDecoder(
      { side: 'from-client' },
      {
        message: (msg) => this.onAction(socket, msg, send, welcome === 'login-refused'),
        error: () => undefined,
      },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  private onAction(socket: net.Socket, msg: AmiMessage, send: (h: AmiHeader[]) => void, refuseLogin: boolean): void {
    const action = (getHeader(msg, 'Action') ?? '').toLowerCase();
    const id = getHeader(msg, 'ActionID') ?? '';
    if (action === 'login') {
      if (refuseLogin) {
        this.refusedConnections++;
        send([['Response', 'Error'], ['ActionID', id], ['Message', 'Authentication failed']]);
        socket.end();
        return;
      }
      send([['Response', 'Success'], ['ActionID', id], ['Message', 'Authentication accepted']]);
      return;
    }
    if (action === 'logoff') {
      send([['Response', 'Goodbye'], ['ActionID', id], ['Message', 'Thanks for all the fish.']]);
      socket.end();
      return;
    }
    // amiplex's own keepalive: answered, so the session stays up unless a misbehaviour ends it.
    if (id.includes('-own-')) {
      send([['Response', 'Success'], ['ActionID', id], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]]);
      return;
    }
    const mode = MISBEHAVIOURS[this.next++ % MISBEHAVIOURS.length]!;
    this.done.set(mode, (this.done.get(mode) ?? 0) + 1);
    const answer: AmiHeader[] = [['Response', 'Success'], ['ActionID', id], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]];
    switch (mode) {
      case 'normal':
        send(answer);
        return;
      case 'duplicate':
        send(answer);
        send(answer);
        return;
      case 'garbage':
        socket.write(Buffer.concat([Buffer.from('\x00\xff no colon here\r\nJunk: yes\r\n\r\n\r\n\r\n', 'latin1'), randomBytes(200).map((b) => (b === 10 || b === 13 ? 32 : b)), Buffer.from('\r\n\r\n')]));
        send(answer);
        return;
      case 'stranger':
        send([['Response', 'Success'], ['ActionID', `someone-else-${id}`], ['Ping', 'Pong']]);
        return;
      case 'silent':
        return;
      case 'unfinished-list': {
        send([['Response', 'Success'], ['ActionID', id], ['EventList', 'start'], ['Message', 'Channels will follow']]);
        let items = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || ++items > 200) {
            clearInterval(timer);
            this.timers.delete(timer);
            return;
          }
          send([['Event', 'CoreShowChannel'], ['ActionID', id], ['Channel', `PJSIP/${items}`]]);
        }, 50);
        this.timers.add(timer);
        return;
      }
      case 'huge-line':
        socket.write(`Response: Success\r\nActionID: ${id}\r\nOutput: ${'x'.repeat(1536 * 1024)}\r\n\r\n`);
        return;
      case 'stray-event':
        send([['Event', 'Stray'], ['ActionID', id], ['Detail', 'an event under the action, not a list']]);
        send(answer);
        return;
      case 'disconnect':
        socket.destroy();
        return;
    }
  }
}
