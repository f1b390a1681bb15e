import { randomBytes } from 'node:crypto';
import { spawnServer, tempDir, type ChildServer, type Exit } from './process.js';

/**
 * Several real server processes on one PostgreSQL and one Redis (issue 8's "Several processes"),
 * each a child process on its own port, all signing tokens with one JWT_SECRET so that a client
 * may take its token to any of them. Clients connect to the processes directly: the test routes
 * them (no proxy in between), as a load balancer would.
 */

export interface ClusterOptions {
  size: number;
  redisUrl: string;
  /** The PostgreSQL of every process, unless `databaseUrlOf` names another for one. */
  databaseUrl: string;
  /** A process's own way to the same database (a slow proxy, say). */
  databaseUrlOf?: (index: number) => string | undefined;
  env?: Record<string, string | undefined>;
}

export interface ClusterNode {
  readonly index: number;
  readonly url: string;
  readonly child: ChildServer;
}

export interface Cluster {
  /** The process at each index now (a replaced one is the new process). */
  readonly nodes: ClusterNode[];
  node(index: number): ClusterNode;
  alive(index: number): boolean;
  /** `kill -9`: resolves once the process is gone. */
  kill(index: number): Promise<Exit>;
  /** Starts a new process in a dead one's place (a new port). */
  replace(index: number): Promise<ClusterNode>;
  /** Output of every process the cluster started, for a failure's message. */
  logs(): string;
  /** SIGKILLs every process. */
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const jwtSecret = randomBytes(32).toString('hex');
  const started: ClusterNode[] = [];
  const spawnNode = async (index: number): Promise<ClusterNode> => {
    const child = spawnServer({
      dataDir: tempDir('parley-cluster-'),
      databaseUrl: options.databaseUrlOf?.(index) ?? options.databaseUrl,
      env: { REDIS_URL: options.redisUrl, JWT_SECRET: jwtSecret, ...options.env },
    });
    const node = { index, url: await child.ready, child };
    started.push(node);
    return node;
  };

  const nodes: ClusterNode[] = [];
  try {
    nodes.push(
      ...(await Promise.all(Array.from({ length: options.size }, (_, i) => spawnNode(i)))),
    );
  } catch (err) {
    await Promise.all(started.map((n) => n.child.stop('SIGKILL')));
    throw err;
  }

  const alive = (index: number) => {
    const { process: p } = nodes[index]!.child;
    return p.exitCode === null && p.signalCode === null;
  };
  return {
    nodes,
    node: (index) => nodes[index]!,
    alive,
    kill: (index) => nodes[index]!.child.stop('SIGKILL'),
    replace: async (index) => {
      if (alive(index)) throw new Error(`process ${index} is still running`);
      nodes[index] = await spawnNode(index);
      return nodes[index];
    },
    logs: () =>
      started
        .map((n) => `--- process ${n.index} (${n.url})\n${n.child.stdout()}${n.child.stderr()}`)
        .join('\n'),
    stop: async () => {
      await Promise.all(started.map((n) => n.child.stop('SIGKILL')));
    },
  };
}
