import { connect, type Socket } from 'node:net';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RunningServer, startServer } from './server.ts';

/** An app whose `/slow` answers after `slowMs`, and which tells when a request has reached it. */
function testApp(slowMs = 0) {
  const reached: string[] = [];
  const app = new Hono()
    .get('/fast', (c) => {
      reached.push('/fast');
      return c.text('fast');
    })
    .get('/slow', async (c) => {
      reached.push('/slow');
      await new Promise((resolve) => setTimeout(resolve, slowMs));
      return c.text('slow');
    });
  return { app, reached };
}

/** A raw TCP connection to the server, connected (and accepted) before it resolves. */
async function openConnection(server: RunningServer): Promise<Socket> {
  const socket = connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  // The server accepts in its own turn of the event loop (same process): give it a few.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return socket;
}

/** Everything the server sends on `socket` until it closes the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve(text));
  });
}

/** Status code and lower-cased headers of the first response in `raw`. */
function parseResponse(raw: string) {
  const [head = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(' ')[1]), headers };
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then(() => 'settled' as const),
    new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms)),
  ]);

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(app: Hono, firstRequestGraceMs?: number): Promise<RunningServer> {
  const server = await startServer(
    { fetch: app.fetch },
    { host: '127.0.0.1', port: 0, ...(firstRequestGraceMs ? { firstRequestGraceMs } : {}) },
  );
  servers.push(server);
  return server;
}

describe('closing the server', () => {
  it('answers a first request that arrives after close() on a connection accepted before it', async () => {
    const { app, reached } = testApp();
    const server = await serve(app, 10_000);
    const socket = await openConnection(server);
    const received = readUntilClosed(socket);

    const closed = server.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reached).toEqual([]);
    socket.write('GET /fast HTTP/1.1\r\nhost: genloop\r\n\r\n');

    const response = parseResponse(await received);
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('close');
    expect(reached).toEqual(['/fast']);
    expect(await within(closed, 5_000)).toBe('settled');
  });

  it('lets a request in flight finish, then closes its connection', async () => {
    const { app, reached } = testApp(300);
    const server = await serve(app);
    const answer = fetch(`${server.url}/slow`);
    await vi.waitFor(() => expect(reached).toHaveLength(1));

    const closed = server.close();
    const response = await answer;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('slow');
    expect(await within(closed, 5_000)).toBe('settled');
  });

  it('refuses new connections once closing', async () => {
    const { app, reached } = testApp(500);
    const server = await serve(app);
    const inFlight = fetch(`${server.url}/slow`);
    await vi.waitFor(() => expect(reached).toHaveLength(1));
    const closed = server.close();
    await expect(fetch(`${server.url}/fast`)).rejects.toThrow();
    expect((await inFlight).status).toBe(200);
    await closed;
  });

  it('closes idle keep-alive connections without waiting for the first-request grace', async () => {
    const { app } = testApp();
    const server = await serve(app, 60_000);
    const socket = await openConnection(server);
    const received = readUntilClosed(socket);
    socket.write('GET /fast HTTP/1.1\r\nhost: genloop\r\n\r\n');
    await vi.waitFor(() => expect(socket.bytesRead).toBeGreaterThan(0));

    expect(await within(server.close(), 5_000)).toBe('settled');
    const response = parseResponse(await received);
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('keep-alive');
  });

  it('closes a connection that sends nothing once its grace is over', async () => {
    const { app, reached } = testApp();
    const server = await serve(app, 200);
    const socket = await openConnection(server);
    const received = readUntilClosed(socket);

    expect(await within(server.close(), 5_000)).toBe('settled');
    expect(await received).toBe('');
    expect(socket.destroyed).toBe(true);
    expect(reached).toEqual([]);
  });
});
