// What a process keeps, read after a full garbage collection: RSS alone counts the garbage a
// burst of handshakes leaves until V8 gets round to it, so "memory per idle socket" from RSS says
// as much about GC timing as about sockets. The process is asked through its inspector, which
// SIGUSR1 opens (Node's default, on 127.0.0.1:9229); nothing in the server is there for the bench.
import WebSocket from 'ws';

export interface Memory {
  rss: number;
  /** V8's heap in use, and memory V8 objects hold outside it (Buffers, ws frames): bytes. */
  heapUsed: number;
  external: number;
}

const INSPECTOR = 'http://127.0.0.1:9229';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inspectorUrl(pid: number): Promise<string> {
  process.kill(pid, 'SIGUSR1');
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const targets = (await (await fetch(`${INSPECTOR}/json/list`)).json()) as {
        webSocketDebuggerUrl: string;
      }[];
      if (targets[0]) return targets[0].webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`process ${pid} opened no inspector on ${INSPECTOR}`);
}

/** Collects garbage in the process (twice: weak references die in the first) and reads memory. */
export async function memoryAfterGc(pid: number): Promise<Memory> {
  const ws = new WebSocket(await inspectorUrl(pid));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let lastId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++lastId;
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse((data as Buffer).toString('utf8')) as {
          id?: number;
          error?: unknown;
        };
        if (reply.id !== id) return;
        ws.off('message', onMessage);
        if (reply.error) reject(new Error(JSON.stringify(reply.error)));
        else resolve(reply as never);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const reply = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(String(reply.result?.result?.value)) as Memory;
    return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external };
  } finally {
    ws.close();
  }
}
