import net from 'node:net';

/**
 * A TCP proxy that holds every chunk back for a delay the test can change at any time (0 passes
 * them at once), each direction in order: one server process's path to PostgreSQL made slow, so
 * that the steps of its socket handshake, each a query, take long enough for another process's
 * change to land between them. A real network path, no hook in the server.
 */
export interface LatencyProxy {
  readonly port: number;
  /** Milliseconds each chunk waits from now on, in each direction. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startLatencyProxy(target: {
  host: string;
  port: number;
}): Promise<LatencyProxy> {
  let delay = 0;
  const sockets = new Set<net.Socket>();

  /** Forwards `from` to `to`, each chunk after the delay in force when it arrived, in order. */
  const forward = (from: net.Socket, to: net.Socket) => {
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      while (queue[0] && queue[0].at <= Date.now()) {
        if (!to.destroyed) to.write(queue.shift()!.chunk);
        else queue.shift();
      }
      if (queue[0]) timer = setTimeout(flush, Math.max(0, queue[0].at - Date.now()));
    };
    from.on('data', (chunk: Buffer) => {
      if (delay === 0 && queue.length === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      queue.push({ at: Date.now() + delay, chunk });
      timer ??= setTimeout(flush, delay);
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
      // What was held back still reaches the other side before it is closed.
      for (const { chunk } of queue.splice(0)) if (!to.destroyed) to.write(chunk);
      to.end();
    });
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');

  return {
    port: address.port,
    setDelay: (ms) => {
      delay = ms;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
