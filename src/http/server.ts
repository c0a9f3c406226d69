import { createServer } from 'node:http';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type Lane, withLanes } from './lane.ts';

export interface RunningServer {
  url: string;
  port: number;
  /**
   * Stops accepting connections and resolves when every connection has closed: requests in
   * flight finish, and so does a first request still on its way in a connection the server had
   * already accepted. Responses written from then on carry `Connection: close`.
   */
  close(): Promise<void>;
}

/** What a server runs: an app's `fetch` (a Hono app) and the fast lanes in front of it. */
export interface Servable {
  fetch: Parameters<typeof getRequestListener>[0];
  lanes?: readonly Lane[];
}

export interface ServerOptions {
  host: string;
  port: number;
  /**
   * How long, once closing, a connection that has not sent a request yet still gets to send
   * one (default 2 s). A client that connected just before the signal may not have been read
   * yet, on a busy server most of all; after this, such a connection is closed unanswered.
   */
  firstRequestGraceMs?: number;
}

/** How often a closing server looks for connections that have gone idle and closes them. */
const IDLE_SWEEP_MS = 25;

/**
 * Serves the app on host:port (port 0 picks a free one) and resolves once it listens. The app's
 * fast lanes, when it has any, see each request first.
 */
export function startServer(
  app: Servable,
  { host, port, firstRequestGraceMs = 2_000 }: ServerOptions,
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const listener = withLanes(app.lanes ?? [], getRequestListener(app.fetch, { hostname: host }));
    // Connections that have not delivered a request yet. Node counts such a connection as idle,
    // so its own close() cuts it even when the request is already in the socket, unread;
    // closing here gives them their grace instead.
    const unheard = new Set<Socket>();
    // Set by close(): from then on responses carry `Connection: close`.
    let closed: Promise<void> | undefined;
    const server = createServer((request, response) => {
      if (unheard.size > 0) unheard.delete(request.socket);
      if (closed) response.setHeader('connection', 'close');
      listener(request, response);
    });
    server.on('connection', (socket: Socket) => {
      unheard.add(socket);
      socket.once('close', () => unheard.delete(socket));
    });
    server.listen(port, host, () => {
      const info = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        close: () => {
          closed ??= new Promise<void>((done) => {
            const graceEnds = performance.now() + firstRequestGraceMs;
            let sweeper: NodeJS.Timeout | undefined;
            // Stop accepting now; done once the last connection has closed. Node's own close()
            // then runs too, for its bookkeeping (the timer that checks request timeouts).
            NetServer.prototype.close.call(server, () => {
              clearTimeout(sweeper);
              server.close();
              done();
            });
            // Idle connections close at once, as with Node's close(), unless a connection has
            // not been heard from yet and the grace is not over: then every idle one waits for
            // a later sweep (a request that arrives meanwhile is served). A connection whose
            // response is still being written is left to finish; it is idle, and closed, at a
            // later sweep.
            const sweep = () => {
              const waiting = unheard.size > 0 && performance.now() < graceEnds;
              if (!waiting) {
                for (const socket of unheard) socket.destroy();
                server.closeIdleConnections();
              }
              sweeper = setTimeout(sweep, IDLE_SWEEP_MS);
              sweeper.unref();
            };
            sweep();
          });
          return closed;
        },
      });
    });
    server.once('error', reject);
  });
}
