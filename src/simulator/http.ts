import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatedProvider } from './faults.ts';

/** One request as a provider handler sees it: body already read and parsed. */
export interface SimulatorRequest {
  provider: SimulatedProvider;
  method: string;
  /** The path after the provider's prefix, e.g. `/chat/completions` or `/predictions/abc`. */
  route: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when there is none or it is not JSON (see `bodyInvalid`). */
  body: unknown;
  bodyInvalid: boolean;
  /** Aborts when the client goes away or the simulator closes. */
  signal: AbortSignal;
  request: IncomingMessage;
  response: ServerResponse;
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads a request body up to `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Sends a JSON answer (unless the connection is already gone). */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(response, status, JSON.stringify(body), headers);
}

/** {@link sendJson} for a body already serialised. */
export function sendJsonText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (response.destroyed || response.headersSent) return;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Ends the connection without an answer, with a TCP reset where the platform allows it. */
export function resetConnection(request: IncomingMessage): void {
  const socket = request.socket as typeof request.socket & { resetAndDestroy?: () => void };
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** Writes one piece of a streamed answer and waits until it is handed to the OS. */
export function writeAndFlush(response: ServerResponse, data: string): Promise<boolean> {
  if (response.destroyed || response.writableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    response.write(data, (error) => resolve(!error));
  });
}

/** The first value of a header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The bearer token of an Authorization header (Replicate also accepts `Token <t>`). */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = header(headers, 'authorization');
  const match = value?.match(/^(?:Bearer|Token)\s+(\S+)$/i);
  return match?.[1];
}
