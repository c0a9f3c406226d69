import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type Lane, withLanes } from './lane.ts';

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting connections and resolves when in-flight requests have finished. */
  close(): Promise<void>;
}

/** What a server runs: an app's `fetch` (a Hono app) and the fast lanes in front of it. */
export interface Servable {
  fetch: Parameters<typeof getRequestListener>[0];
  lanes?: readonly Lane[];
}

/**
 * Serves the app on host:port (port 0 picks a free one) and resolves once it listens. The app's
 * fast lanes, when it has any, see each request first.
 */
export function startServer(
  app: Servable,
  { host, port }: { host: string; port: number },
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const listener = withLanes(app.lanes ?? [], getRequestListener(app.fetch, { hostname: host }));
    const server = createServer(listener);
    server.listen(port, host, () => {
      const info = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would otherwise hold close() open.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
