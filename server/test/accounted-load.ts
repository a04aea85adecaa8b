import type { Socket } from 'node:net';
import autocannon from 'autocannon';

/**
 * Steady load from autocannon, with every request accounted for. autocannon counts errors
 * by connection, not by request, and it writes its next request as soon as an answer is
 * read, even onto a connection the server has just said it closes (`Connection: close`).
 * So each of its connections is followed here, and every request written ends up in
 * exactly one of these:
 *
 * - completed: a whole response came back;
 * - failed in flight: written on an established connection that then ended, without a
 *   response and without the server having announced it closes (or it timed out);
 * - sent after `Connection: close`: written on a connection after the server's last answer
 *   on it said it closes; the server never reads it, and a compliant client never sends it;
 * - refused: written on a connection the server refused (its listener was closed). A refused
 *   connection ends that load connection: it would only spin on refusals.
 */

/** autocannon's per-connection client, as its source has it (the typings leave these out). */
interface LoadClient {
  conn: Socket;
  on(event: 'request' | 'response', listener: () => void): void;
  on(event: 'headers', listener: (info: { headers: string[] }) => void): void;
  on(event: 'connError', listener: (error: NodeJS.ErrnoException) => void): void;
  destroy(): void;
}

interface ConnectionState {
  connected: boolean;
  closeAnnounced: boolean;
  /** The server ended the connection (no end and no error: the client did, on a timeout). */
  endedByServer: boolean;
  /** Requests written and not yet answered. */
  outstanding: number;
  error: string | undefined;
}

export interface LoadAccount {
  sent: number;
  completed: number;
  non2xx: number;
  failedInFlight: number;
  /** Why in-flight requests failed: a socket error code, or who ended the connection. */
  failureReasons: Record<string, number>;
  sentAfterConnectionClose: number;
  refused: number;
  /** Responses that told the client the connection closes after them. */
  answeredWithConnectionClose: number;
  /** The `X-Request-Id` of every complete response. */
  answeredIds: Set<string>;
}

export interface AccountedLoad {
  account: LoadAccount;
  /** Requests written and not yet answered, right now. */
  outstanding(): number;
  stop(): void;
  /** autocannon's own summary, once it has stopped. */
  finished: Promise<autocannon.Result>;
}

function isConnectionClose(rawHeaders: string[]): boolean {
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index]?.toLowerCase() === 'connection' && rawHeaders[index + 1]?.toLowerCase() === 'close')
      return true;
  }
  return false;
}

export function startAccountedLoad({
  url,
  connections,
  requests,
  idPrefix,
}: {
  url: string;
  connections: number;
  requests: { method: 'GET'; path: string }[];
  /** Each request carries `X-Request-Id: <idPrefix><unique id>`, to find it in the server's log. */
  idPrefix: string;
}): AccountedLoad {
  const account: LoadAccount = {
    sent: 0,
    completed: 0,
    non2xx: 0,
    failedInFlight: 0,
    failureReasons: {},
    sentAfterConnectionClose: 0,
    refused: 0,
    answeredWithConnectionClose: 0,
    answeredIds: new Set(),
  };
  const live = new Set<ConnectionState>();

  const settle = (state: ConnectionState) => {
    live.delete(state);
    if (state.outstanding === 0) return;
    if (!state.connected) account.refused += state.outstanding;
    else if (state.closeAnnounced && (state.endedByServer || state.error !== undefined))
      account.sentAfterConnectionClose += state.outstanding;
    else {
      account.failedInFlight += state.outstanding;
      const reason = state.error ?? (state.endedByServer ? 'closed by the server' : 'closed by the client (timeout)');
      account.failureReasons[reason] = (account.failureReasons[reason] ?? 0) + state.outstanding;
    }
    state.outstanding = 0;
  };

  const setupClient = (client: LoadClient) => {
    let socket: Socket | undefined;
    let state: ConnectionState | undefined;
    // A request goes out on the client's current socket; a new socket is a new connection.
    const current = (): ConnectionState => {
      if (state && client.conn === socket) return state;
      socket = client.conn;
      const fresh: ConnectionState = {
        connected: false,
        closeAnnounced: false,
        endedByServer: false,
        outstanding: 0,
        error: undefined,
      };
      state = fresh;
      live.add(fresh);
      socket.once('connect', () => (fresh.connected = true));
      socket.once('end', () => (fresh.endedByServer = true));
      socket.on('error', (error: NodeJS.ErrnoException) => (fresh.error ??= error.code ?? error.message));
      socket.once('close', () => settle(fresh));
      return fresh;
    };
    client.on('request', () => {
      account.sent += 1;
      current().outstanding += 1;
    });
    client.on('headers', (info) => {
      if (isConnectionClose(info.headers)) {
        current().closeAnnounced = true;
        account.answeredWithConnectionClose += 1;
      }
    });
    client.on('response', () => {
      account.completed += 1;
      current().outstanding -= 1;
    });
    client.on('connError', (error) => {
      if (error.code === 'ECONNREFUSED') client.destroy();
    });
  };

  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url,
      connections,
      // Stopped by the caller; this only bounds a run that is never stopped.
      duration: 60,
      sampleInt: 100,
      timeout: 10,
      idReplacement: true,
      headers: { 'x-request-id': `${idPrefix}[<id>]` },
      requests: requests.map((request) => ({
        ...request,
        // autocannon calls it with (status, body, context, headers).
        onResponse: (...[status, , , headers = {}]: [number, string, object, Record<string, unknown>?]) => {
          if (status < 200 || status > 299) account.non2xx += 1;
          const id = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-request-id')?.[1];
          if (typeof id === 'string') account.answeredIds.add(id);
        },
      })),
      setupClient: setupClient as unknown as (client: autocannon.Client) => void,
    },
    (error: unknown, result: autocannon.Result) => (error ? fail(error) : finish(result)),
  );
  return {
    account,
    outstanding: () => [...live].reduce((sum, state) => sum + state.outstanding, 0),
    stop: () => instance.stop(),
    finished,
  };
}
