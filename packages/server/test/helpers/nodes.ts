import net from 'node:net';

/**
 * A TCP load balancer in front of several server nodes: each new connection goes to the next
 * node in turn, and stays there. A websocket is one connection, so it lives on one node for its
 * whole life (what sticky sessions give in production); an HTTP keep-alive connection likewise.
 * Bytes pass untouched, so the Host and Origin headers the nodes see are the proxy's, as a
 * client addressed it.
 */
export interface RoundRobinProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(
  targets: readonly { host: string; port: number }[],
): Promise<RoundRobinProxy> {
  if (targets.length === 0) throw new Error('a proxy needs at least one target');
  let next = 0;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };

  // Half-open, as Node's HTTP server is: a client that ends its side after a request still gets
  // the answer, and the node's own end is passed back by pipe().
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const target = targets[next % targets.length];
    next += 1;
    if (!target) return client.destroy();
    const upstream = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
    track(client);
    track(upstream);
    // Nagle would hold back the small frames Socket.IO sends; the nodes and clients turn it off.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // A reset on either side resets the other: a client sees a node's abrupt close, and a node
    // sees a client vanish, as they would without the proxy. An orderly end is passed on by pipe().
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');

  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
