import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeepAliveFetch } from './keep-alive-fetch.ts';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

describe('keep-alive fetch', () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, Handler>();
  const transport = createKeepAliveFetch();
  const { fetch: keepAliveFetch } = transport;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => routes.get(request.url ?? '')?.(request, body, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body; answers a Response with status, headers and JSON', async () => {
    routes.set('/echo', (request, body, response) => {
      response.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      response.end(
        JSON.stringify({
          method: request.method,
          body: JSON.parse(body),
          auth: request.headers.authorization,
          length: request.headers['content-length'],
        }),
      );
    });
    const sent = JSON.stringify({ hello: 'wörld' });
    const response = await keepAliveFetch(`${base}/echo`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer abc', 'content-type': 'application/json' }),
      body: sent,
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(await response.json()).toEqual({
      method: 'POST',
      body: { hello: 'wörld' },
      auth: 'Bearer abc',
      length: String(Buffer.byteLength(sent)),
    });
  });

  it('reuses one connection for consecutive calls', async () => {
    routes.set('/port', (request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(String(request.socket.remotePort));
    });
    const ports = new Set<string>();
    for (let call = 0; call < 3; call++) {
      // Each call starts on a later turn of the event loop, as a gateway request does: undici's
      // pool marks a connection free one microtask after its body ends.
      await nextTurn();
      ports.add(await (await keepAliveFetch(`${base}/port`)).text());
    }
    expect(ports.size).toBe(1);
  });

  it('close() lets a call in flight finish, then closes the connection', async () => {
    let answer: (() => void) | undefined;
    let socketClosed = false;
    routes.set('/slow', (request, _body, response) => {
      request.socket.once('close', () => {
        socketClosed = true;
      });
      answer = () => response.end('done');
    });
    const own = createKeepAliveFetch();
    const pending = own.fetch(`${base}/slow`);
    while (!answer) await nextTurn();
    const closed = own.close();
    answer();
    expect(await (await pending).text()).toBe('done');
    await closed;
    while (!socketClosed) await nextTurn();
    await expect(own.fetch(`${base}/slow`)).rejects.toThrow();
  });

  it('error statuses come back as responses, with their body', async () => {
    routes.set('/limited', (_request, _body, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      response.end('{"error":{"message":"slow down"}}');
    });
    const response = await keepAliveFetch(`${base}/limited`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(429);
    expect(response.ok).toBe(false);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await response.text()).toBe('{"error":{"message":"slow down"}}');
  });

  it('asks for an uncompressed body, whatever the caller asked for', async () => {
    routes.set('/encoding', (request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(request.headers['accept-encoding']);
    });
    const response = await keepAliveFetch(`${base}/encoding`, {
      headers: { 'Accept-Encoding': 'gzip, br' },
    });
    expect(await response.text()).toBe('identity');
  });

  it('a compressed body it did not ask for is an error, not garbage for the SDK', async () => {
    routes.set('/gzip', (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync('{"zipped":true}'));
    });
    await expect(keepAliveFetch(`${base}/gzip`)).rejects.toThrow('gzip body');
  });

  it('streams server-sent events as they arrive', async () => {
    let finish: (() => void) | undefined;
    routes.set('/sse', (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
      finish = () => response.end('data: two\n\n');
    });
    const response = await keepAliveFetch(`${base}/sse`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    // The first event arrived while the server still holds the rest back.
    expect(Buffer.from(first.value!).toString()).toBe('data: one\n\n');
    finish!();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    expect(rest).toBe('data: two\n\n');
  });

  it('the abort signal ends a call that hangs before answering, with its reason', async () => {
    routes.set('/hang', () => {});
    const controller = new AbortController();
    const pending = keepAliveFetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('attempt timed out')), 20);
    await expect(pending).rejects.toThrow('attempt timed out');
  });

  it('the abort signal breaks a stream in the middle', async () => {
    routes.set('/stall', (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
    });
    const controller = new AbortController();
    const response = await keepAliveFetch(`${base}/stall`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort(new Error('stalled'));
    await expect(reader.read()).rejects.toThrow();
  });

  it('a connection cut mid-body rejects instead of answering a truncated body', async () => {
    routes.set('/cut', (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":');
      setTimeout(() => response.socket?.destroy(), 10);
    });
    await expect(keepAliveFetch(`${base}/cut`)).rejects.toThrow();
  });

  it('works as the openai SDK transport', async () => {
    routes.set('/v1/chat/completions', (_request, body, response) => {
      const request = JSON.parse(body) as { model: string };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: request.model,
          choices: [
            { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hi' } },
          ],
        }),
      );
    });
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', fetch: keepAliveFetch });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(completion.choices[0]?.message.content).toBe('hi');
  });
});
