// What a process keeps, read after a full garbage collection: RSS alone counts the garbage a
// burst of handshakes leaves until V8 gets round to it, so "memory per idle socket" from RSS says
// as much about GC timing as about sockets. The process is asked through its inspector, which
// SIGUSR1 opens (Node's default, on 127.0.0.1:9229); nothing in the server is there for the bench.
import { readFileSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface Memory {
  rss: number;
  /** V8's heap in use, and memory V8 objects hold outside it (Buffers, ws frames): bytes. */
  heapUsed: number;
  external: number;
}

const INSPECTOR = 'http://127.0.0.1:9229';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens the process's inspector (a no-op when open already) and answers its address. Call it
 * before any reading to be compared: an open inspector costs memory of its own.
 */
export async function openInspector(pid: number): Promise<string> {
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

const CALL_TIMEOUT_MS = 30_000;

/**
 * Collects garbage in the process (twice: weak references die in the first) and reads memory;
 * with `snapshot`, also writes a heap snapshot there (what `heapBySelfSize` reads).
 */
export async function memoryAfterGc(pid: number, snapshot?: string): Promise<Memory> {
  const ws = new WebSocket(await openInspector(pid));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let lastId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++lastId;
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.off('message', onMessage);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new Error(`${method}: no answer in ${CALL_TIMEOUT_MS} ms`)),
        CALL_TIMEOUT_MS,
      );
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse((data as Buffer).toString('utf8')) as {
          id?: number;
          error?: unknown;
        };
        if (reply.id !== id) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        if (reply.error) reject(new Error(JSON.stringify(reply.error)));
        else resolve(reply as never);
      };
      ws.on('message', onMessage);
      ws.once('close', () => fail(new Error(`${method}: the inspector closed`)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression: string) =>
    (await call('Runtime.evaluate', { expression, returnByValue: true })).result?.result?.value;
  ws.on('error', () => {}); // a failure shows as the call's rejection
  try {
    // Port 9229 is anyone's: make sure the process answering is the one asked about.
    const answering = await evaluate('process.pid');
    if (answering !== pid)
      throw new Error(`the inspector on ${INSPECTOR} is process ${String(answering)}, not ${pid}`);
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = JSON.parse(
      String(await evaluate('JSON.stringify(process.memoryUsage())')),
    ) as Memory;
    if (snapshot) {
      const chunks: string[] = [];
      const onChunk = (data: WebSocket.RawData) => {
        const event = JSON.parse((data as Buffer).toString('utf8')) as {
          method?: string;
          params?: { chunk: string };
        };
        if (event.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(event.params!.chunk);
      };
      ws.on('message', onChunk);
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      ws.off('message', onChunk);
      writeFileSync(snapshot, chunks.join(''));
    }
    return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external };
  } finally {
    ws.close();
  }
}

/**
 * A heap snapshot's live objects summed by kind and constructor ("object Socket", "closure
 * onclose", "array", ...): bytes of their own, not what they retain. Two snapshots' difference
 * divided by the sockets opened between them is what one socket keeps, by kind.
 */
export function heapBySelfSize(file: string): Map<string, number> {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const types = snapshot.meta.node_types[0];
  const sums = new Map<string, number>();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt!]!]!;
    // Strings, numbers and code are summed by kind; their names are their contents.
    const named = !/string|number|code/.test(type);
    const key = named ? `${type} ${strings[nodes[i + nameAt!]!]!}` : type;
    sums.set(key, (sums.get(key) ?? 0) + nodes[i + sizeAt!]!);
  }
  return sums;
}
