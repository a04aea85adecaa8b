import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A running proxy; see `startTcpProxy`. */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** The target's URL with the proxy's host and port (`tcp://host:port` for a host:port target). */
  readonly url: string;
  readonly mode: TcpProxyMode;
  /** Open client connections. */
  readonly connections: number;
  /** Bytes received and held back by `stall()`, not yet forwarded. */
  readonly heldBytes: number;
  cut(): void;
  stall(): void;
  /** Like `stall()`, for the target's replies only: what clients send still reaches the target. */
  stallReplies(): void;
  restore(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export type TcpProxyMode = 'forward' | 'stall' | 'stall-replies' | 'cut';

export type TcpProxyTarget = string | { host: string; port: number };

/** One direction of a proxied connection: from `source` to `sink`, held while stalled. */
class Pipe {
  private readonly held: Buffer[] = [];

  private readonly source: Socket;
  private readonly sink: Socket;
  private readonly proxy: { mode: TcpProxyMode; heldBytes: number };
  private readonly direction: 'request' | 'reply';

  constructor({
    source,
    sink,
    proxy,
    direction,
  }: {
    source: Socket;
    sink: Socket;
    proxy: { mode: TcpProxyMode; heldBytes: number };
    direction: 'request' | 'reply';
  }) {
    this.source = source;
    this.sink = sink;
    this.proxy = proxy;
    this.direction = direction;
    source.on('data', (chunk: Buffer) => {
      if (this.stalled() || this.held.length > 0) {
        this.held.push(chunk);
        this.proxy.heldBytes += chunk.length;
      } else {
        this.write(chunk);
      }
    });
    sink.on('drain', () => {
      if (this.proxy.mode === 'forward') source.resume();
    });
  }

  private stalled(): boolean {
    return this.proxy.mode === 'stall' || (this.proxy.mode === 'stall-replies' && this.direction === 'reply');
  }

  /** Delivers what was held, then lets data flow again. */
  release(): void {
    for (const chunk of this.held.splice(0)) {
      this.proxy.heldBytes -= chunk.length;
      this.write(chunk);
    }
  }

  private write(chunk: Buffer): void {
    if (!this.sink.write(chunk)) this.source.pause();
  }
}

/** A client connection and its connection to the target. */
interface Link {
  client: Socket;
  upstream: Socket;
  pipes: [Pipe, Pipe];
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'http:': 80 };

function parseTarget(target: TcpProxyTarget): { host: string; port: number; url: URL } {
  if (typeof target !== 'string') {
    return { ...target, url: new URL(`tcp://${target.host}:${target.port}`) };
  }
  const url = new URL(target);
  const port = Number(url.port || DEFAULT_PORTS[url.protocol]);
  if (!url.hostname || !Number.isInteger(port) || port <= 0) {
    throw new Error(`Cannot proxy ${url.protocol}//${url.host}: the URL needs a host and a port`);
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, url };
}

/**
 * A TCP proxy for fault-injection tests: it listens on 127.0.0.1 (a free port) and forwards
 * every connection to a target, until told to fail.
 *
 * - `cut()`: destroys every open connection, and closes each new one as soon as it is
 *   accepted, as when the target goes down (clients see a closed connection at once).
 * - `stall()`: keeps accepting, but holds every byte in both directions without forwarding
 *   it, as when the network hangs (clients wait until their own timeouts fire).
 * - `stallReplies()`: the same for the target's replies only, as when a query reaches the
 *   database and runs (a commit included) but its answer is lost.
 * - `restore()`: forwards again; bytes held by `stall()` are delivered first, in order.
 *
 * ```ts
 * const proxy = await startTcpProxy(testDatabase.url); // postgres://…@127.0.0.1:<proxy port>/…
 * proxy.cut();
 * proxy.restore();
 * await proxy.close();
 * ```
 */
export async function startTcpProxy(target: TcpProxyTarget): Promise<TcpProxy> {
  const destination = parseTarget(target);
  const state: { mode: TcpProxyMode; heldBytes: number } = { mode: 'forward', heldBytes: 0 };
  const links = new Set<Link>();

  const drop = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };

  const server = createServer({ noDelay: true }, (client) => {
    if (state.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect({ host: destination.host, port: destination.port, noDelay: true });
    const link: Link = {
      client,
      upstream,
      pipes: [
        new Pipe({ source: client, sink: upstream, proxy: state, direction: 'request' }),
        new Pipe({ source: upstream, sink: client, proxy: state, direction: 'reply' }),
      ],
    };
    links.add(link);
    // Either side failing or closing ends both: the proxy never half-keeps a connection.
    for (const socket of [client, upstream]) {
      socket.on('error', () => drop(link));
      socket.on('close', () => drop(link));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const url = new URL(destination.url);
  url.hostname = address;
  url.port = String(port);

  return {
    host: address,
    port,
    url: url.toString(),
    get mode() {
      return state.mode;
    },
    get connections() {
      return links.size;
    },
    get heldBytes() {
      return state.heldBytes;
    },
    cut() {
      state.mode = 'cut';
      for (const link of links) drop(link);
    },
    stall() {
      state.mode = 'stall';
    },
    stallReplies() {
      state.mode = 'stall-replies';
    },
    restore() {
      state.mode = 'forward';
      for (const { client, upstream, pipes } of links) {
        for (const pipe of pipes) pipe.release();
        client.resume();
        upstream.resume();
      }
    },
    close() {
      state.mode = 'cut';
      for (const link of links) drop(link);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
