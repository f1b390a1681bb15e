import net from 'node:net';

/**
 * A TCP proxy between the server and PostgreSQL that can stop answering, as a network path that
 * drops every packet would: in a black-hole the proxy reads nothing from either side (so the
 * kernel buffers fill and nothing arrives), and new connections are accepted but never joined to
 * the database. Healing resumes every paused connection, as TCP's retransmissions would.
 */
export interface TcpProxy {
  readonly port: number;
  blackHole(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let dropping = false;
  const pending = new Set<() => void>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const join = () => {
      const upstream = net.connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      // pipe() resumes the source; a black-hole pauses both ends again below.
      client.pipe(upstream);
      upstream.pipe(client);
      if (dropping) {
        client.pause();
        upstream.pause();
      }
    };
    if (dropping) pending.add(join);
    else join();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');

  return {
    port: address.port,
    blackHole: () => {
      dropping = true;
      for (const s of sockets) s.pause();
    },
    heal: () => {
      dropping = false;
      for (const s of sockets) s.resume();
      for (const join of pending) join();
      pending.clear();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
