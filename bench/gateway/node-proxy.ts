/**
 * The least any Node.js gateway does: take a request with `node:http`, send its bytes unchanged
 * to one fixed upstream over a keep-alive undici pool (the HTTP client genloop uses), and hand the
 * answer back. No parsing, authentication, routing, retries or telemetry.
 *
 * bench:gateway runs it as a fourth target in front of the same simulator. Its throughput is the
 * ceiling of every Node gateway on the machine of the run, Portkey's and genloop's alike: what a
 * gateway could serve if everything it does beyond relaying bytes cost nothing.
 *
 *   node --import tsx bench/gateway/node-proxy.ts --upstream URL [--port 0]
 *
 * Prints `node proxy listening on http://127.0.0.1:<port>` once it accepts connections.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (values.upstream === undefined) throw new Error('--upstream URL is required');
const upstream = new URL(values.upstream);
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1 });

/** Request headers passed on: only what the upstream needs to answer. */
const FORWARDED = ['content-type', 'authorization'] as const;

const server = createServer({ keepAliveTimeout: 5_000 }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    pool
      .request({
        path: `${upstream.pathname}${upstream.search}`,
        method: request.method === 'GET' ? 'GET' : 'POST',
        headers,
        body: Buffer.concat(chunks),
      })
      .then(async (answer) => {
        const body = Buffer.from(await answer.body.arrayBuffer());
        const contentType = answer.headers['content-type'];
        response.writeHead(answer.statusCode, {
          'content-type': typeof contentType === 'string' ? contentType : 'application/json',
          'content-length': body.length,
        });
        response.end(body);
      })
      .catch((error: unknown) => {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(error instanceof Error ? error.message : String(error));
      });
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`node proxy listening on http://127.0.0.1:${port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  void pool.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
