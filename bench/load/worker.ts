// One thread of the load generator: holds its share of the sockets, sends on the schedule the
// main thread gives (never waiting for acks: open loop), and times every ack and every delivery
// from the moment the message was due. Its figures go back raw; the main thread merges them.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';

export interface WorkerInit {
  workerId: number;
  url: string;
  /** Each socket's token, its user, and the chat it sends to (null: it only listens). */
  sockets: { token: string; userId: string; chatId: string | null }[];
  /**
   * Readers: every socket marks each message of another as read when it arrives
   * (`message:read`), as the web client does for the chat on screen.
   */
  readers: boolean;
}

export type ToWorker =
  | { type: 'connect' }
  | { type: 'step'; stepId: number; perSecond: number; startAt: number; durationMs: number }
  | { type: 'counts' }
  | { type: 'report'; stepId: number }
  | { type: 'close' };

export interface StepReport {
  sent: number;
  acked: number;
  ackErrors: number;
  /** Sends still unanswered when the report was asked for. */
  pending: number;
  ackMs: Float64Array;
  deliveryMs: Float64Array;
  duplicates: number;
  errorCodes: Record<string, number>;
  /** Reads sent (readers only), answered ok, refused; from arrival of the message to the ack. */
  reads: number;
  readsAcked: number;
  readErrors: number;
  readMs: Float64Array;
}

export type FromWorker =
  | { type: 'connected'; ok: number; failed: number; errors: Record<string, number> }
  | { type: 'counts'; deliveries: number; acked: number; reads: number }
  | { type: 'report'; report: StepReport }
  | { type: 'closed' };

const init = workerData as WorkerInit;
const port = parentPort!;
/** Milliseconds on a clock every thread of the process shares. */
const now = () => performance.timeOrigin + performance.now();

class Step {
  sent = 0;
  acked = 0;
  ackErrors = 0;
  ackMs: number[] = [];
  deliveryMs: number[] = [];
  duplicates = 0;
  errorCodes: Record<string, number> = {};
  reads = 0;
  readsAcked = 0;
  readErrors = 0;
  readMs: number[] = [];
  /** socket index + client message id, to count a message delivered twice to one socket. */
  seen = new Set<string>();
}

const steps = new Map<number, Step>();
const stepOf = (id: number) => {
  let step = steps.get(id);
  if (!step) steps.set(id, (step = new Step()));
  return step;
};
let deliveries = 0;
let acked = 0;
let readsAnswered = 0;
const sockets: Socket[] = [];

function connectAll(): Promise<void> {
  let ok = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  return new Promise((resolve) => {
    const settle = () => {
      if (ok + failed < init.sockets.length) return;
      port.postMessage({ type: 'connected', ok, failed, errors } satisfies FromWorker);
      resolve();
    };
    init.sockets.forEach(({ token, userId }, index) => {
      const socket = io(init.url, {
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
        forceNew: true,
        timeout: 60_000,
      });
      sockets.push(socket);
      socket.on('message:new', (message: Delivered) => {
        const at = now();
        const id = message.client_message_id;
        if (!id) return;
        // "<step>.<worker>.<n>.<due ms>"
        const parts = id.split('.');
        const step = stepOf(Number(parts[0]));
        const key = `${index}:${id}`;
        if (step.seen.has(key)) {
          step.duplicates++;
          return;
        }
        step.seen.add(key);
        step.deliveryMs.push(at - Number(parts[3]));
        deliveries++;
        if (init.readers && message.sender_id !== userId) read(socket, step, message, at);
      });
      socket.once('connect', () => {
        ok++;
        settle();
      });
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
        failed++;
        const code = err.data?.code ?? err.message;
        errors[code] = (errors[code] ?? 0) + 1;
        settle();
      });
    });
    settle();
  });
}

interface Delivered {
  id: string;
  chat_id: string;
  sender_id: string;
  client_message_id: string | null;
}

function read(socket: Socket, step: Step, message: Delivered, arrived: number) {
  step.reads++;
  socket.emit(
    'message:read',
    { chatId: message.chat_id, messageId: message.id },
    (ack: { ok: boolean; error?: { code: string } }) => {
      readsAnswered++;
      if (ack.ok) {
        step.readsAcked++;
        step.readMs.push(now() - arrived);
      } else {
        step.readErrors++;
        const code = `read ${ack.error?.code ?? 'unknown'}`;
        step.errorCodes[code] = (step.errorCodes[code] ?? 0) + 1;
      }
    },
  );
}

function runStep(stepId: number, perSecond: number, startAt: number, durationMs: number) {
  const step = stepOf(stepId);
  const senders = init.sockets
    .map((s, index) => ({ chatId: s.chatId, socket: sockets[index]! }))
    .filter(
      (s): s is { chatId: string; socket: Socket } => s.chatId !== null && s.socket.connected,
    );
  if (senders.length === 0 || perSecond <= 0) return;
  const interval = 1000 / perSecond;
  const total = Math.floor((durationMs / 1000) * perSecond);
  let n = 0;
  const tick = () => {
    const t = now();
    // Everything already due goes now, however late: the schedule is the offered load.
    while (n < total && startAt + n * interval <= t) {
      const due = startAt + n * interval;
      const sender = senders[n % senders.length]!;
      const clientMessageId = `${stepId}.${init.workerId}.${n}.${due.toFixed(3)}`;
      n++;
      step.sent++;
      sender.socket.emit(
        'message:send',
        { chatId: sender.chatId, content: `load ${clientMessageId}`, clientMessageId },
        (ack: { ok: boolean; error?: { code: string } }) => {
          if (ack.ok) {
            step.acked++;
            acked++;
            step.ackMs.push(now() - due);
          } else {
            step.ackErrors++;
            const code = ack.error?.code ?? 'unknown';
            step.errorCodes[code] = (step.errorCodes[code] ?? 0) + 1;
          }
        },
      );
    }
    if (n < total) setTimeout(tick, Math.max(0, Math.min(5, startAt + n * interval - now())));
  };
  setTimeout(tick, Math.max(0, startAt - now()));
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'connect':
      void connectAll();
      break;
    case 'step':
      runStep(msg.stepId, msg.perSecond, msg.startAt, msg.durationMs);
      break;
    case 'counts':
      port.postMessage({
        type: 'counts',
        deliveries,
        acked,
        reads: readsAnswered,
      } satisfies FromWorker);
      break;
    case 'report': {
      const step = stepOf(msg.stepId);
      steps.delete(msg.stepId);
      const ackMs = new Float64Array(step.ackMs);
      const deliveryMs = new Float64Array(step.deliveryMs);
      const readMs = new Float64Array(step.readMs);
      const report: StepReport = {
        sent: step.sent,
        acked: step.acked,
        ackErrors: step.ackErrors,
        pending: step.sent - step.acked - step.ackErrors,
        ackMs,
        deliveryMs,
        duplicates: step.duplicates,
        errorCodes: step.errorCodes,
        reads: step.reads,
        readsAcked: step.readsAcked,
        readErrors: step.readErrors,
        readMs,
      };
      port.postMessage({ type: 'report', report } satisfies FromWorker, [
        ackMs.buffer,
        deliveryMs.buffer,
        readMs.buffer,
      ]);
      break;
    }
    case 'close':
      for (const s of sockets) s.disconnect();
      port.postMessage({ type: 'closed' } satisfies FromWorker);
      break;
  }
});
