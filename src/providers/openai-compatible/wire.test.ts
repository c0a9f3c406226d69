import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AttemptTimeout, ProviderError } from '../errors.ts';
import { createOpenRouterProvider } from '../openrouter/index.ts';
import type {
  CallOptions,
  ChatCompletionChunk,
  ChatRequest,
  ChatStream,
  TextProvider,
} from '../types.ts';
import { createOpenAICompatibleProvider, type OpenAICompatibleTransport } from './index.ts';
import { headerValue, SseParser, WireClient } from './wire.ts';

// ---------------------------------------------------------------------------------------------
// A scripted upstream: a real node:http server on 127.0.0.1, answering as each test says.
// ---------------------------------------------------------------------------------------------

/** One request as the scripted server received it (body read whole). */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

type Handler = (request: Received, response: ServerResponse) => void | Promise<void>;

interface Upstream {
  url: string;
  /** What the server does with each request; a test may swap it between calls. */
  handler: Handler;
  received: Received[];
  /** Every TCP connection the server accepted, in order. */
  connections: Socket[];
  /** Resolves with the `n`th request (1-based) once it has arrived whole. */
  request(n: number): Promise<Received>;
}

const servers: Server[] = [];
const wires: WireClient[] = [];

afterEach(async () => {
  // Servers first: a call a test left hanging fails instead of holding its pool open.
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
  await Promise.all(wires.splice(0).map((wire) => wire.close()));
});

async function upstream(handler: Handler): Promise<Upstream> {
  const received: Received[] = [];
  const connections: Socket[] = [];
  const waiters = new Map<number, (request: Received) => void>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: Received = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      socket: req.socket,
    };
    received.push(request);
    waiters.get(received.length)?.(request);
    try {
      await up.handler(request, res);
    } catch {
      // The client went away mid-answer (an abort or a cut under test).
      res.destroy();
    }
  });
  server.on('connection', (socket: Socket) => connections.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const up: Upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handler,
    received,
    connections,
    request(n) {
      const arrived = received[n - 1];
      if (arrived) return Promise.resolve(arrived);
      return new Promise((resolve) => waiters.set(n, resolve));
    },
  };
  return up;
}

/** Answers `status` with `body` (JSON-encoded unless it is already text). */
function answer(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_request, response) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(text);
  };
}

/** A handler that never answers. */
const hang: Handler = () => {};

/** Resolves once `socket` has closed, however it closed (a reset is an `error` first). */
function closedOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** One turn of the event loop (undici reuses a socket only after one). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function write(response: ServerResponse, piece: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    response.write(piece, (error) => (error ? reject(error) : resolve())),
  );
}

/**
 * Answers 200 `text/event-stream`, writing `pieces` one at a time, each flushed and followed by
 * a turn of the event loop (so that each reaches the client as a read of its own), then ends,
 * hangs, or destroys the socket.
 */
function sse(
  pieces: ReadonlyArray<string | Buffer>,
  then: 'end' | 'hang' | 'destroy' = 'end',
  headers: Record<string, string> = {},
): Handler {
  return async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', ...headers });
    response.flushHeaders();
    for (const piece of pieces) {
      await write(response, piece);
      await nextTurn();
    }
    if (then === 'end') response.end();
    else if (then === 'destroy') response.socket?.destroy();
  };
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

const API_KEY = 'sk-wire-test-0123456789';

const REQUEST: ChatRequest = {
  model: 'wire-model',
  messages: [{ role: 'user', content: 'hello, wire' }],
  temperature: 0.25,
};

function providerFor(up: Upstream, options: Partial<OpenAICompatibleTransport> = {}): TextProvider {
  return createOpenAICompatibleProvider({
    name: 'custom',
    baseURL: `${up.url}/v1`,
    apiKey: API_KEY,
    servedBy: 'api',
    ...options,
  });
}

function live(): CallOptions {
  return { signal: new AbortController().signal };
}

/** What `promise` rejected with, which must be a ProviderError; fails when it resolves. */
async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) expect.fail(`expected a ProviderError, got ${String(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ProviderError);
  return outcome.error as ProviderError;
}

async function drain(stream: ChatStream): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Reads `stream` until it fails; the chunks that arrived first and the failure. */
async function drainToFailure(
  stream: ChatStream,
): Promise<{ chunks: ChatCompletionChunk[]; error: ProviderError }> {
  const chunks: ChatCompletionChunk[] = [];
  const error = await providerFailure(
    (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })(),
  );
  return { chunks, error };
}

function completion(content: string, extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-wire-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'wire-model',
    choices: [
      { index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null },
    ],
    usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
    ...extra,
  };
}

function chunk(content: string, extra: Record<string, unknown> = {}): ChatCompletionChunk {
  return {
    id: 'chatcmpl-stream-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'wire-model',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra,
  } as ChatCompletionChunk;
}

/** One SSE event carrying `data` as JSON. */
function event(data: unknown, eol = '\n'): string {
  return `data: ${JSON.stringify(data)}${eol}${eol}`;
}

const text = (chunks: ChatCompletionChunk[]) =>
  chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Error answers
// ---------------------------------------------------------------------------------------------

describe('error answers become classified ProviderErrors', () => {
  it('a 400 in OpenAI shape is bad_request, not retryable, with message and body', async () => {
    const details = {
      message: "Invalid value for 'temperature': must be at most 2.",
      type: 'invalid_request_error',
      code: 'invalid_value',
      param: 'temperature',
    };
    const up = await upstream(answer(400, { error: details }));
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({
      provider: 'custom',
      status: 400,
      errorClass: 'bad_request',
      retryable: false,
      retryAfterMs: undefined,
    });
    expect(error.message).toContain("Invalid value for 'temperature': must be at most 2.");
    expect(error.body).toEqual(details);
  });

  it('a 400 with code content_policy_violation is content_policy', async () => {
    const up = await upstream(
      answer(400, {
        error: {
          message: 'Your request was rejected by the safety system.',
          type: 'invalid_request_error',
          code: 'content_policy_violation',
        },
      }),
    );
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ status: 400, errorClass: 'content_policy', retryable: false });
    expect(error.message).toContain('rejected by the safety system');
  });

  it.each([
    [401, 'auth', false],
    [403, 'auth', false],
    [408, 'timeout', true],
    [409, 'server_error', true],
    [500, 'server_error', true],
    [503, 'server_error', true],
  ] as const)('%i is %s (retryable %s)', async (status, errorClass, retryable) => {
    const up = await upstream(
      answer(status, { error: { message: `status ${status} said so`, type: 'x', code: null } }),
    );
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ status, errorClass, retryable });
    expect(error.message).toContain(`status ${status} said so`);
  });

  it('a 429 with retry-after: 2 is rate_limited, retryable, 2000 ms', async () => {
    const up = await upstream(
      answer(
        429,
        { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after': '2' },
      ),
    );
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({
      status: 429,
      errorClass: 'rate_limited',
      retryable: true,
      retryAfterMs: 2000,
    });
    expect(error.message).toContain('Rate limit reached');
  });

  it('retry-after-ms wins over retry-after, for JSON calls and streams alike', async () => {
    const up = await upstream(
      answer(
        429,
        { error: { message: 'slow down', type: 'requests', code: null } },
        { 'retry-after-ms': '150', 'retry-after': '2' },
      ),
    );
    const provider = providerFor(up);
    const generated = await providerFailure(provider.generate(REQUEST, live()));
    expect(generated).toMatchObject({ errorClass: 'rate_limited', retryAfterMs: 150 });
    const streamed = await providerFailure(provider.stream(REQUEST, live()));
    expect(streamed).toMatchObject({
      status: 429,
      errorClass: 'rate_limited',
      retryable: true,
      retryAfterMs: 150,
    });
  });

  it('a non-JSON (HTML) error body is classified by status, its start in the message', async () => {
    const html = `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>${'<!-- padding -->'.repeat(40)}</body></html>`;
    const up = await upstream(answer(502, html, { 'content-type': 'text/html' }));
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ status: 502, errorClass: 'server_error', retryable: true });
    expect(error.message).toContain('<html><head><title>502 Bad Gateway</title>');
    // A prefix, not the whole page.
    expect(error.message.length).toBeLessThan(html.length);
  });

  it('an error body the provider compressed anyway is read', async () => {
    const body = gzipSync(
      JSON.stringify({ error: { message: 'compressed refusal', type: 'x', code: 'y' } }),
    );
    const up = await upstream((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(body);
    });
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ status: 400, errorClass: 'bad_request' });
    expect(error.message).toContain('compressed refusal');
  });

  it('an error answer is read whole: the next call reuses the connection', async () => {
    const up = await upstream(
      answer(503, { error: { message: 'busy', type: 'x', code: null } }, { 'retry-after': '1' }),
    );
    const provider = providerFor(up);
    await providerFailure(provider.generate(REQUEST, live()));
    await nextTurn();
    up.handler = answer(200, completion('after the 503'));
    const result = await provider.generate(REQUEST, live());
    expect(result.content).toBe('after the 503');
    expect(up.connections).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------------

describe('transport failures', () => {
  it('a refused connection is network, retryable', async () => {
    const port = await freePort();
    const provider = createOpenAICompatibleProvider({
      name: 'openai',
      baseURL: `http://127.0.0.1:${port}/v1`,
      apiKey: API_KEY,
      servedBy: 'api',
    });
    const error = await providerFailure(provider.generate(REQUEST, live()));
    expect(error).toMatchObject({ provider: 'openai', errorClass: 'network', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    const streamed = await providerFailure(provider.stream(REQUEST, live()));
    expect(streamed).toMatchObject({ errorClass: 'network', retryable: true });
  });

  it('a socket destroyed before the answer is network, retryable', async () => {
    const up = await upstream((request) => {
      request.socket.destroy();
    });
    const provider = providerFor(up);
    const error = await providerFailure(provider.generate(REQUEST, live()));
    expect(error).toMatchObject({ errorClass: 'network', retryable: true, status: undefined });
    const streamed = await providerFailure(provider.stream(REQUEST, live()));
    expect(streamed).toMatchObject({ errorClass: 'network', retryable: true });
  });

  it('a 200 whose body is not JSON is unknown, not retryable', async () => {
    const up = await upstream(
      answer(200, '<html>maintenance page</html>', { 'content-type': 'text/html' }),
    );
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ errorClass: 'unknown', retryable: false });
    expect(error.message).toContain('<html>maintenance page');
  });

  it('a 200 without a choices array is unknown', async () => {
    const data = { id: 'chatcmpl-x', object: 'chat.completion', model: 'wire-model' };
    const up = await upstream(answer(200, data));
    const error = await providerFailure(providerFor(up).generate(REQUEST, live()));
    expect(error).toMatchObject({ errorClass: 'unknown', retryable: false });
    expect(error.body).toEqual(data);
  });
});

// ---------------------------------------------------------------------------------------------
// Aborts
// ---------------------------------------------------------------------------------------------

describe('aborts', () => {
  it('an abort by the attempt timeout is timeout; the pool serves the next call', async () => {
    const up = await upstream(hang);
    const provider = providerFor(up, { maxSockets: 1 });
    const controller = new AbortController();
    const pending = provider.generate(REQUEST, { signal: controller.signal });
    const hung = await up.request(1);
    const closed = closedOf(hung.socket);
    controller.abort(new AttemptTimeout(50));
    const error = await providerFailure(pending);
    expect(error).toMatchObject({ errorClass: 'timeout', retryable: true });
    await closed;
    up.handler = answer(200, completion('after the timeout'));
    expect((await provider.generate(REQUEST, live())).content).toBe('after the timeout');
  });

  it('a plain abort is canceled, not retryable; the pool serves the next call', async () => {
    const up = await upstream(hang);
    const provider = providerFor(up, { maxSockets: 1 });
    const controller = new AbortController();
    const pending = provider.generate(REQUEST, { signal: controller.signal });
    await up.request(1);
    controller.abort();
    const error = await providerFailure(pending);
    expect(error).toMatchObject({ errorClass: 'canceled', retryable: false });
    up.handler = answer(200, completion('after the cancel'));
    expect((await provider.generate(REQUEST, live())).content).toBe('after the cancel');
  });

  it('a call queued behind a busy bounded pool gives up when its signal aborts', async () => {
    const up = await upstream(hang);
    const provider = providerFor(up, { maxSockets: 1 });
    const first = new AbortController();
    let firstSettled = false;
    const busy = provider
      .generate(REQUEST, { signal: first.signal })
      .catch(() => undefined)
      .finally(() => {
        firstSettled = true;
      });
    await up.request(1);
    const queued = new AbortController();
    const waiting = providerFailure(provider.generate(REQUEST, { signal: queued.signal }));
    setTimeout(() => queued.abort(), 50);
    const error = await waiting;
    expect(error.errorClass).toBe('canceled');
    // It gave up while the first call still held the only socket.
    expect(firstSettled).toBe(false);
    first.abort();
    await busy;
  });

  it('a signal aborted before the call sends nothing', async () => {
    const up = await upstream(answer(200, completion('never')));
    const provider = providerFor(up);
    const timedOut = await providerFailure(
      provider.generate(REQUEST, { signal: AbortSignal.abort(new AttemptTimeout(10)) }),
    );
    expect(timedOut.errorClass).toBe('timeout');
    const canceled = await providerFailure(
      provider.stream(REQUEST, { signal: AbortSignal.abort() }),
    );
    expect(canceled.errorClass).toBe('canceled');
    expect(up.received).toHaveLength(0);
  });

  it('an abort while the body is read is timeout or canceled too', async () => {
    // Headers at once, then a body that never completes.
    let bodyStarted = () => {};
    const up = await upstream(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      await write(response, '{"id":"chatcmpl-slow","choices":[');
      bodyStarted();
    });
    const provider = providerFor(up, { maxSockets: 1 });
    for (const [reason, errorClass] of [
      [new AttemptTimeout(50), 'timeout'],
      [undefined, 'canceled'],
    ] as const) {
      const started = new Promise<void>((resolve) => {
        bodyStarted = resolve;
      });
      const controller = new AbortController();
      const pending = provider.generate(REQUEST, { signal: controller.signal });
      const hung = await up.request(up.received.length + 1);
      await started;
      await nextTurn();
      const closed = closedOf(hung.socket);
      controller.abort(reason);
      expect((await providerFailure(pending)).errorClass).toBe(errorClass);
      await closed;
    }
  });
});

// ---------------------------------------------------------------------------------------------
// What is sent
// ---------------------------------------------------------------------------------------------

describe('what goes on the wire', () => {
  it('POST <base path>/chat/completions with key, JSON, identity, default and extra headers', async () => {
    const up = await upstream(answer(200, completion('ok')));
    const provider = createOpenRouterProvider({
      apiKey: API_KEY,
      // A trailing slash on the base URL does not double the separator.
      baseURL: `${up.url}/api/v1/`,
      servedBy: 'api',
      appUrl: 'https://app.example.com',
    });
    await provider.generate(REQUEST, {
      signal: new AbortController().signal,
      headers: { 'x-genloop-simulate': 'openrouter=error:503' },
    });
    const [sent] = up.received;
    expect(sent).toMatchObject({ method: 'POST', url: '/api/v1/chat/completions' });
    expect(sent!.headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
      'accept-encoding': 'identity',
      'x-title': 'genloop',
      'http-referer': 'https://app.example.com',
      'x-genloop-simulate': 'openrouter=error:503',
    });
    // The body is the request, exactly.
    expect(sent!.body).toBe(JSON.stringify(REQUEST));
  });

  it('without options.headers no simulate header is sent', async () => {
    const up = await upstream(answer(200, completion('ok')));
    await providerFor(up).generate(REQUEST, live());
    expect(up.received[0]!.headers['x-genloop-simulate']).toBeUndefined();
    expect(up.received[0]!.url).toBe('/v1/chat/completions');
  });

  it('a stream asks for stream: true and usage in the last chunk, nothing else changed', async () => {
    const up = await upstream(sse([event(chunk('hi')), 'data: [DONE]\n\n']));
    const stream = await providerFor(up).stream(REQUEST, live());
    await drain(stream);
    const [sent] = up.received;
    expect(sent).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
    expect(sent!.headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
      'accept-encoding': 'identity',
    });
    expect(JSON.parse(sent!.body)).toEqual({
      ...REQUEST,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('keep-alive: sequential calls share one socket', async () => {
    const up = await upstream(answer(200, completion('again')));
    const provider = providerFor(up);
    for (let call = 0; call < 3; call++) {
      await provider.generate(REQUEST, live());
      // undici hands a socket back to its pool one event-loop turn after the answer completes
      // (client-h1: setImmediate(client[kResume])); a real next call comes from a later event.
      await nextTurn();
    }
    expect(up.received).toHaveLength(3);
    expect(up.connections).toHaveLength(1);
    expect(up.received[2]!.socket).toBe(up.received[0]!.socket);
  });

  it('keep-alive: even calls in the same turn do not open a socket each', async () => {
    const up = await upstream(answer(200, completion('back to back')));
    const provider = providerFor(up);
    for (let call = 0; call < 6; call++) await provider.generate(REQUEST, live());
    expect(up.received).toHaveLength(6);
    expect(up.connections.length).toBeLessThanOrEqual(2);
  });
});

// ---------------------------------------------------------------------------------------------
// JSON answers
// ---------------------------------------------------------------------------------------------

describe('JSON answers', () => {
  it('content, usage, provider cost, x-request-id and the exact bytes', async () => {
    // Odd whitespace, escapes and fields genloop does not model: all must survive in `body`.
    const raw =
      '{ "id":"chatcmpl-exact" ,\n\t"object": "chat.completion","created":1700000000,' +
      '"model":"wire-model","system_fingerprint":"fp_1","x_vendor":{"a":1,"b":[true,null]},' +
      '"choices":[{"index":0,"message":{"role":"assistant","content":"caf\\u00e9 \\ud83e\\udd98",' +
      '"refusal":null},"finish_reason":"stop","x_choice":1.50}],' +
      '"usage":{"prompt_tokens":21,"completion_tokens":7,"total_tokens":28,"cost":0.000315}}\n  ';
    const up = await upstream(answer(200, raw, { 'x-request-id': 'req_abc123' }));
    const result = await providerFor(up).generate(REQUEST, live());
    expect(result.content).toBe('café 🦘');
    expect(result.usage).toEqual({ inputTokens: 21, outputTokens: 7, costUsd: 0.000315 });
    expect(result.providerRequestId).toBe('req_abc123');
    expect(result.body).toBe(raw);
    expect(result.completion).toMatchObject({
      id: 'chatcmpl-exact',
      system_fingerprint: 'fp_1',
      x_vendor: { a: 1, b: [true, null] },
    });
  });

  it('without x-request-id the completion id is the provider request id', async () => {
    const up = await upstream(answer(200, completion('plain')));
    const result = await providerFor(up).generate(REQUEST, live());
    expect(result.providerRequestId).toBe('chatcmpl-wire-1');
    expect(result.usage).toEqual({ inputTokens: 9, outputTokens: 4, costUsd: undefined });
  });

  it('a cost that is not a non-negative number is no cost', async () => {
    for (const cost of ['0.01', -1, null]) {
      const up = await upstream(
        answer(200, completion('x', { usage: { prompt_tokens: 1, completion_tokens: 2, cost } })),
      );
      const result = await providerFor(up).generate(REQUEST, live());
      expect(result.usage, JSON.stringify(cost)).toEqual({
        inputTokens: 1,
        outputTokens: 2,
        costUsd: undefined,
      });
    }
  });

  it('an answer without usage has no token counts', async () => {
    const { usage: _none, ...bare } = completion('no usage');
    const up = await upstream(answer(200, bare));
    const result = await providerFor(up).generate(REQUEST, live());
    expect(result.content).toBe('no usage');
    expect(result.usage).toEqual({
      inputTokens: undefined,
      outputTokens: undefined,
      costUsd: undefined,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Compressed answers
// ---------------------------------------------------------------------------------------------

const COMPRESS = {
  gzip: gzipSync,
  br: brotliCompressSync,
  deflate: deflateSync,
} as const;

describe.each(Object.keys(COMPRESS) as Array<keyof typeof COMPRESS>)(
  'content-encoding: %s',
  (encoding) => {
    const compress = COMPRESS[encoding];

    it('a JSON answer is read, its body kept as text', async () => {
      const raw = JSON.stringify(completion(`compressed with ${encoding} ✓`, { x_extra: 'kept' }));
      const up = await upstream((_request, response) => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        response.end(compress(raw));
      });
      const result = await providerFor(up).generate(REQUEST, live());
      expect(result.content).toBe(`compressed with ${encoding} ✓`);
      expect(result.body).toBe(raw);
    });

    it('an SSE answer is read, the compressed bytes split across writes', async () => {
      const chunks = [chunk('zip'), chunk('ped ✓ '), chunk(encoding)];
      const usage = { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 };
      const body = compress(
        `${chunks.map((c) => event(c)).join('')}${event({ ...chunk(''), choices: [], usage })}data: [DONE]\n\n`,
      );
      const third = Math.ceil(body.length / 3);
      const up = await upstream(
        sse(
          [body.subarray(0, third), body.subarray(third, 2 * third), body.subarray(2 * third)],
          'end',
          {
            'content-encoding': encoding,
          },
        ),
      );
      const stream = await providerFor(up).stream(REQUEST, live());
      const received = await drain(stream);
      expect(received.slice(0, 3)).toEqual(chunks);
      expect(text(received)).toBe(`zipped ✓ ${encoding}`);
      expect(stream.usage()).toMatchObject({ inputTokens: 3, outputTokens: 3 });
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Server-sent events
// ---------------------------------------------------------------------------------------------

describe('server-sent events over the wire', () => {
  const chunks = [chunk('Kangaroos '), chunk('hop, '), chunk('wombats dig — 🦘 é.')];
  const usageChunk = {
    ...chunk(''),
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46, cost: 0.00021 },
  };
  const lf = `${chunks.map((c) => event(c)).join('')}${event(usageChunk)}data: [DONE]\n\n`;
  const crlf = `${chunks.map((c) => event(c, '\r\n')).join('')}${event(usageChunk, '\r\n')}data: [DONE]\r\n\r\n`;

  /** Splits `text` after each offset in `at` (in UTF-8 bytes, so a character can be cut). */
  function splitBytes(full: string, at: number[]): Buffer[] {
    const bytes = Buffer.from(full, 'utf8');
    const pieces: Buffer[] = [];
    let from = 0;
    for (const offset of at) {
      pieces.push(bytes.subarray(from, offset));
      from = offset;
    }
    pieces.push(bytes.subarray(from));
    return pieces;
  }

  const bytesBefore = (full: string, needle: string, skip = 0) =>
    Buffer.byteLength(full.slice(0, full.indexOf(needle) + skip), 'utf8');

  const framings: Array<[string, () => Array<string | Buffer>]> = [
    ['split inside "data:"', () => splitBytes(lf, [bytesBefore(lf, 'data: {"id"', 2) + 1])],
    [
      'split inside the JSON, twice',
      () => splitBytes(lf, [bytesBefore(lf, 'hop'), bytesBefore(lf, 'wombats', 3)]),
    ],
    [
      'CRLF split between every CR and LF',
      () => {
        const pieces: string[] = [];
        let from = 0;
        for (let i = crlf.indexOf('\r'); i !== -1; i = crlf.indexOf('\r', i + 1)) {
          pieces.push(crlf.slice(from, i + 1));
          from = i + 1;
        }
        pieces.push(crlf.slice(from));
        return pieces;
      },
    ],
    ['one byte at a time', () => [...Buffer.from(lf, 'utf8')].map((byte) => Buffer.from([byte]))],
    [
      'a multi-byte character split across writes',
      () =>
        splitBytes(lf, [
          bytesBefore(lf, '🦘') + 1,
          bytesBefore(lf, '🦘') + 3,
          bytesBefore(lf, 'é') + 1,
        ]),
    ],
  ];

  it.each(framings)('%s: every chunk arrives whole', async (_name, pieces) => {
    const split = pieces();
    expect(split.length).toBeGreaterThan(1);
    const up = await upstream(sse(split, 'end', { 'x-request-id': 'req_stream_1' }));
    const stream = await providerFor(up).stream(REQUEST, live());
    expect(stream.providerRequestId).toBe('req_stream_1');
    const received = await drain(stream);
    expect(received).toEqual([...chunks, usageChunk]);
    expect(text(received)).toBe('Kangaroos hop, wombats dig — 🦘 é.');
    expect(stream.usage()).toEqual({ inputTokens: 12, outputTokens: 34, costUsd: 0.00021 });
  });

  it('usage is unknown until the final usage chunk has been read', async () => {
    const up = await upstream(sse([lf]));
    const stream = await providerFor(up).stream(REQUEST, live());
    expect(stream.usage()).toEqual({
      inputTokens: undefined,
      outputTokens: undefined,
      costUsd: undefined,
    });
    await drain(stream);
    expect(stream.usage()).toEqual({ inputTokens: 12, outputTokens: 34, costUsd: 0.00021 });
  });

  it('several data: lines are joined by newlines into one event', async () => {
    const data = JSON.stringify(chunk('multi-line'), null, 1).split('\n');
    const body = `${data.map((line) => `data: ${line}`).join('\n')}\n\ndata: [DONE]\n\n`;
    const up = await upstream(sse([body]));
    expect(await drain(await providerFor(up).stream(REQUEST, live()))).toEqual([
      chunk('multi-line'),
    ]);
  });

  it('comments, event:, id: and retry: lines are read past', async () => {
    const body = [
      ': ping\n\n',
      ': OPENROUTER PROCESSING\n\n',
      `event: message\nid: 7\nretry: 1000\n${event(chunk('one'))}`,
      `: ping\ndata: ${JSON.stringify(chunk('two'))}\nid: 8\n\n`,
      'data: [DONE]\n\n',
    ];
    const up = await upstream(sse(body));
    expect(await drain(await providerFor(up).stream(REQUEST, live()))).toEqual([
      chunk('one'),
      chunk('two'),
    ]);
  });

  it('[DONE] ends the stream while the server holds the connection open', async () => {
    // Anything after [DONE] is not read; the server never ends the response.
    const up = await upstream(
      sse([`${event(chunk('done'))}data: [DONE]\n\n${event(chunk('after done'))}`], 'hang'),
    );
    const provider = providerFor(up, { maxSockets: 1 });
    const stream = await provider.stream(REQUEST, live());
    const closed = closedOf(up.received[0]!.socket);
    expect(await drain(stream)).toEqual([chunk('done')]);
    // The unfinished answer's socket is let go, and the pool serves the next call.
    await closed;
    up.handler = answer(200, completion('next'));
    expect((await provider.generate(REQUEST, live())).content).toBe('next');
  });

  it('bare CR line ends: [DONE] ends the stream without waiting for another byte', async () => {
    const up = await upstream(sse([`${event(chunk('cr'), '\r')}data: [DONE]\r\r`], 'hang'));
    const provider = providerFor(up, { maxSockets: 1 });
    const controller = new AbortController();
    // Would the parser hold the last CR back, the stream would wait until this abort.
    const guard = setTimeout(() => controller.abort(), 5_000);
    const stream = await provider.stream(REQUEST, { signal: controller.signal });
    expect(await drain(stream)).toEqual([chunk('cr')]);
    expect(controller.signal.aborted).toBe(false);
    clearTimeout(guard);
  });

  it('a stream in an encoding genloop cannot read fails and lets its connection go', async () => {
    const up = await upstream(sse([event(chunk('zz'))], 'hang', { 'content-encoding': 'zstd' }));
    const provider = providerFor(up, { maxSockets: 1 });
    const stream = await provider.stream(REQUEST, live());
    const closed = closedOf(up.received[0]!.socket);
    const { error } = await drainToFailure(stream);
    expect(error.errorClass).toBe('stream_cut');
    expect(error.message).toContain('zstd');
    await closed;
    up.handler = answer(200, completion('after zstd'));
    expect((await provider.generate(REQUEST, live())).content).toBe('after zstd');
  });

  it('a stream without [DONE] that ends between events ends cleanly', async () => {
    const up = await upstream(sse([event(chunk('a')), event(chunk('b'))]));
    expect(text(await drain(await providerFor(up).stream(REQUEST, live())))).toBe('ab');
  });

  it('a socket destroyed mid-event is stream_cut', async () => {
    const half = event(chunk('second')).slice(0, 30);
    const up = await upstream(sse([event(chunk('first')), half], 'destroy'));
    const stream = await providerFor(up).stream(REQUEST, live());
    const { chunks: received, error } = await drainToFailure(stream);
    expect(received).toEqual([chunk('first')]);
    expect(error).toMatchObject({ errorClass: 'stream_cut', retryable: true });
  });

  it('a clean end inside an event (no blank line) is stream_cut', async () => {
    for (const tail of [
      event(chunk('second')).slice(0, 30),
      // A whole data line, but the event's blank line never came.
      `data: ${JSON.stringify(chunk('second'))}\n`,
    ]) {
      const up = await upstream(sse([event(chunk('first')), tail], 'end'));
      const stream = await providerFor(up).stream(REQUEST, live());
      const { chunks: received, error } = await drainToFailure(stream);
      expect(received).toEqual([chunk('first')]);
      expect(error).toMatchObject({ errorClass: 'stream_cut', retryable: true });
      expect(error.message).toContain('inside an event');
    }
  });

  it('an error event is stream_cut with its message', async () => {
    const up = await upstream(
      sse([event(chunk('partial')), 'data: {"error":{"message":"overloaded"}}\n\n'], 'hang'),
    );
    const stream = await providerFor(up).stream(REQUEST, live());
    const { chunks: received, error } = await drainToFailure(stream);
    expect(received).toEqual([chunk('partial')]);
    expect(error).toMatchObject({ errorClass: 'stream_cut', retryable: true });
    expect(error.message).toContain('overloaded');
  });

  it('an event that is not JSON is stream_cut', async () => {
    const up = await upstream(sse([event(chunk('ok')), 'data: {not json\n\n']));
    const stream = await providerFor(up).stream(REQUEST, live());
    const { chunks: received, error } = await drainToFailure(stream);
    expect(received).toEqual([chunk('ok')]);
    expect(error.errorClass).toBe('stream_cut');
    expect(error.message).toContain('{not json');
  });

  const abortReasons: ReadonlyArray<
    readonly [string, 'timeout' | 'canceled', boolean, () => AttemptTimeout | undefined]
  > = [
    ['the attempt timeout', 'timeout', true, () => new AttemptTimeout(50)],
    ['a plain abort', 'canceled', false, () => undefined],
  ];

  it.each(abortReasons)(
    'an abort by %s mid-stream is %s (retryable %s)',
    async (_name, errorClass, retryable, reason) => {
      const up = await upstream(sse([event(chunk('first'))], 'hang'));
      const provider = providerFor(up, { maxSockets: 1 });
      const controller = new AbortController();
      const stream = await provider.stream(REQUEST, { signal: controller.signal });
      const closed = closedOf(up.received[0]!.socket);
      const received: ChatCompletionChunk[] = [];
      const error = await providerFailure(
        (async () => {
          for await (const c of stream) {
            received.push(c);
            controller.abort(reason());
          }
        })(),
      );
      expect(received).toEqual([chunk('first')]);
      expect(error).toMatchObject({ errorClass, retryable });
      await closed;
      up.handler = answer(200, completion('after the abort'));
      expect((await provider.generate(REQUEST, live())).content).toBe('after the abort');
    },
  );

  it('a consumer that stops early lets the connection go', async () => {
    const up = await upstream(
      sse([event(chunk('one')), event(chunk('two')), event(chunk('three'))], 'hang'),
    );
    const provider = providerFor(up, { maxSockets: 1 });
    const stream = await provider.stream(REQUEST, live());
    const closed = closedOf(up.received[0]!.socket);
    for await (const c of stream) {
      expect(c).toEqual(chunk('one'));
      break;
    }
    await closed;
    up.handler = answer(200, completion('the pool is free'));
    expect((await provider.generate(REQUEST, live())).content).toBe('the pool is free');
    expect(up.connections).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// SseParser, in any slicing
// ---------------------------------------------------------------------------------------------

/** Serialises events (each a data string, `\n` meaning another `data:` line). */
function serialize(
  events: ReadonlyArray<{ data: string; extras: ReadonlyArray<string>; tight: boolean }>,
  eol: string,
): string {
  return events
    .map(({ data, extras, tight }) => {
      const lines = data
        .split('\n')
        .map((line) => (tight && !line.startsWith(' ') ? `data:${line}` : `data: ${line}`));
      return `${[...extras, ...lines].join(eol)}${eol}${eol}`;
    })
    .join('');
}

function parseIn(pieces: string[]): string[] {
  const parser = new SseParser();
  const out: string[] = [];
  for (const piece of pieces) out.push(...parser.push(piece));
  out.push(...parser.end());
  return out;
}

describe('SseParser', () => {
  const fixed = [
    [{ data: '{"a":1}', extras: [], tight: false }],
    [
      { data: '{"a":\n1}', extras: [': ping', 'event: message'], tight: false },
      { data: '', extras: ['id: 4'], tight: true },
      { data: ' leading space', extras: [], tight: false },
      { data: 'ü🦘\n\nx', extras: ['retry: 10', ': c'], tight: true },
    ],
    [
      { data: '[DONE]', extras: [], tight: false },
      { data: 'data: inside', extras: [':'], tight: true },
    ],
  ];

  it.each(['\n', '\r\n', '\r'])(
    'every split into 1–3 pieces gives the same events (eol %j)',
    (eol) => {
      for (const events of fixed) {
        const full = serialize(events, eol);
        const expected = events.map((e) => e.data);
        expect(parseIn([full])).toEqual(expected);
        for (let i = 0; i <= full.length; i++) {
          for (let j = i; j <= full.length; j++) {
            const pieces = [full.slice(0, i), full.slice(i, j), full.slice(j)];
            expect(parseIn(pieces), JSON.stringify(pieces)).toEqual(expected);
          }
        }
      }
    },
  );

  it('random events and random slicing give the same events', () => {
    const line = fc.string({
      unit: fc.constantFrom('a', 'Z', ' ', ':', '{', '"', '\n', 'é', '🦘', '\u0000'),
      maxLength: 16,
    });
    const anEvent = fc.record({
      data: line,
      extras: fc.array(fc.constantFrom(': ping', 'event: completion', 'id: 42', 'retry: 5'), {
        maxLength: 2,
      }),
      tight: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(anEvent, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 2 }),
        (events, eol, cuts) => {
          const full = serialize(events, eol);
          const at = cuts.map((cut) => cut % (full.length + 1)).sort((a, b) => a - b);
          const pieces: string[] = [];
          let from = 0;
          for (const offset of at) {
            pieces.push(full.slice(from, offset));
            from = offset;
          }
          pieces.push(full.slice(from));
          expect(parseIn(pieces)).toEqual(events.map((e) => e.data));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with LF, CRLF or a bare CR, an event is out as soon as its blank line is in', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const parser = new SseParser();
      expect(parser.push(`data: one${eol}`)).toEqual([]);
      expect(parser.midEvent).toBe(true);
      expect(parser.push(eol)).toEqual(['one']);
      expect(parser.midEvent).toBe(false);
    }
  });

  it('midEvent tells an unended event at the end of the body', () => {
    const parser = new SseParser();
    parser.push('data: whole\n\ndata: {"cut');
    expect(parser.midEvent).toBe(true);
    expect(parser.end()).toEqual([]);
    const clean = new SseParser();
    expect(clean.push('data: whole\n\n')).toEqual(['whole']);
    expect(clean.midEvent).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// WireClient and headerValue directly
// ---------------------------------------------------------------------------------------------

describe('WireClient', () => {
  it('refuses a base URL that is not http(s) and a bad maxSockets', () => {
    expect(
      () => new WireClient({ name: 'custom', baseURL: 'ftp://example.com/v1', apiKey: 'k' }),
    ).toThrow(TypeError);
    expect(
      () =>
        new WireClient({
          name: 'custom',
          baseURL: 'http://127.0.0.1:1/v1',
          apiKey: 'k',
          maxSockets: 0,
        }),
    ).toThrow(TypeError);
  });

  it('call reads a JSON answer whole; post resolves on a 2xx head and events reads SSE', async () => {
    const up = await upstream((request, response) => {
      if (request.url.endsWith('/json')) {
        answer(201, { hello: 'wire' }, { 'x-multi': 'one' })(request, response);
        return;
      }
      return sse([event({ n: 1 }), 'data: {"n"', ':2}\n\n', 'data: [DONE]\n\n'])(request, response);
    });
    const wire = new WireClient({ name: 'custom', baseURL: `${up.url}/base`, apiKey: 'k' });
    wires.push(wire);
    const signal = new AbortController().signal;
    const jsonAnswer = await wire.call('/json', '{"q":1}', signal, { 'x-extra': 'yes' });
    expect(headerValue(jsonAnswer.headers, 'x-multi')).toBe('one');
    expect(headerValue(jsonAnswer.headers, 'x-missing')).toBeNull();
    expect(jsonAnswer).toMatchObject({ text: '{"hello":"wire"}', data: { hello: 'wire' } });
    expect(up.received[0]).toMatchObject({ url: '/base/json', body: '{"q":1}' });
    expect(up.received[0]!.headers['x-extra']).toBe('yes');
    const events: unknown[] = [];
    for await (const data of wire.events(await wire.post('/sse', '{}', signal), signal)) {
      events.push(data);
    }
    expect(events).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('headerValue joins repeated headers', () => {
    expect(headerValue({ 'set-cookie': ['a=1', 'b=2'] }, 'set-cookie')).toBe('a=1, b=2');
    expect(headerValue({ 'x-one': 'v' }, 'x-one')).toBe('v');
    expect(headerValue({}, 'x-none')).toBeNull();
  });
});
