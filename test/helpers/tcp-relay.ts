/**
 * A TCP relay in front of a server, which a test can cut (every connection through it closed,
 * new ones refused) and restore: one node losing its way to NATS while the others keep it.
 *
 *   const relay = await startRelay(nats.port);   // give the node relay.port
 *   relay.cut(); ...; relay.restore(); ...; await relay.close();
 */
import net from 'node:net';

export interface TcpRelay {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const open = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((inbound) => {
    if (cut) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect({ host: targetHost, port: targetPort });
    for (const [s, other] of [[inbound, outbound], [outbound, inbound]] as const) {
      open.add(s);
      s.on('error', () => other.destroy());
      s.on('close', () => {
        open.delete(s);
        other.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cutAll = (): void => {
    cut = true;
    for (const s of open) s.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: cutAll,
    restore() {
      cut = false;
    },
    async close() {
      cutAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
