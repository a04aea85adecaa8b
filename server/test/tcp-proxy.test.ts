import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

let echo: Server;
let proxy: TcpProxy;
const clients: Socket[] = [];

beforeEach(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  proxy = await startTcpProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy.close();
  echo.close();
});

/** A client of the proxy that keeps everything it receives, and whether it was closed. */
async function client(): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect({ host: proxy.host, port: proxy.port });
  clients.push(socket);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => received, closed };
}

describe('startTcpProxy', () => {
  it('forwards both ways', async () => {
    const { socket, received } = await client();
    socket.write('ping');
    await expect.poll(received).toBe('ping');
    expect(proxy.connections).toBe(1);
  });

  it('holds data while stalled and delivers it, in order, once restored', async () => {
    const { socket, received } = await client();
    proxy.stall();
    socket.write('one,');
    socket.write('two');
    await expect.poll(() => proxy.heldBytes).toBe(7);
    await sleep(100);
    expect(received()).toBe('');

    proxy.restore();
    await expect.poll(received).toBe('one,two');
    expect(proxy.heldBytes).toBe(0);
  });

  it('forwards what clients send but holds the replies while replies are stalled, until restored', async () => {
    const arrived: string[] = [];
    echo.removeAllListeners('connection');
    echo.on('connection', (socket: Socket) => {
      socket.on('data', (chunk: Buffer) => arrived.push(chunk.toString()));
      socket.pipe(socket);
    });
    const { socket, received } = await client();
    proxy.stallReplies();
    socket.write('commit');
    await expect.poll(() => arrived.join('')).toBe('commit');
    await expect.poll(() => proxy.heldBytes).toBe(6);
    expect(received()).toBe('');

    proxy.restore();
    await expect.poll(received).toBe('commit');
  });

  it('accepts new connections while stalled, without forwarding their data', async () => {
    proxy.stall();
    const { socket, received } = await client();
    socket.write('late');
    await expect.poll(() => proxy.heldBytes).toBe(4);
    proxy.restore();
    await expect.poll(received).toBe('late');
  });

  it('closes open connections when cut, closes new ones at once, and forwards again once restored', async () => {
    const before = await client();
    proxy.cut();
    await before.closed;

    const during = await client();
    await during.closed;
    expect(during.received()).toBe('');
    expect(proxy.connections).toBe(0);

    proxy.restore();
    const after = await client();
    after.socket.write('back');
    await expect.poll(after.received).toBe('back');
  });

  it('gives the target URL with its own host and port', async () => {
    const port = (echo.address() as AddressInfo).port;
    const viaUrl = await startTcpProxy(`postgres://app:secret@127.0.0.1:${port}/orders?sslmode=disable`);
    try {
      expect(viaUrl.url).toBe(`postgres://app:secret@127.0.0.1:${viaUrl.port}/orders?sslmode=disable`);
      expect(proxy.url).toBe(`tcp://127.0.0.1:${proxy.port}`);
    } finally {
      await viaUrl.close();
    }
  });

  it('stops listening when closed', async () => {
    await client();
    await proxy.close();
    expect(proxy.connections).toBe(0);
    const refused = connect({ host: proxy.host, port: proxy.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});
