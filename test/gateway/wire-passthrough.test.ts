import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type OpenAI from 'openai';
import { beforeEach, expect, it } from 'vitest';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachWith, eventually, type Stack, startStack } from '../helpers/stack.ts';

// ---------------------------------------------------------------------------------------------
// Scripted upstreams standing in for the `openai` and `custom` APIs: one real HTTP server,
// `/openai/v1` and `/custom/v1` under it, each answering as the test says. genloop reaches them
// through OPENAI_BASE_URL and CUSTOM_PROVIDER_BASE_URL with the simulator off, so every call
// goes through the wire client exactly as it would to a real API.
// ---------------------------------------------------------------------------------------------

type Upstreamed = 'openai' | 'custom';

interface Received {
  provider: Upstreamed;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (response: ServerResponse, request: Received) => void | Promise<void>;

interface Upstream {
  url: string;
  handlers: Record<Upstreamed, Handler>;
  received: Received[];
  close(): Promise<void>;
}

const OPENAI_KEY = 'sk-upstream-openai-0123456789';
const CUSTOM_KEY = 'sk-upstream-custom-0123456789';

async function startUpstream(): Promise<Upstream> {
  const received: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const provider: Upstreamed = req.url?.startsWith('/custom/') ? 'custom' : 'openai';
    const request: Received = {
      provider,
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    received.push(request);
    try {
      await upstream.handlers[provider](res, request);
    } catch {
      res.destroy();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const upstream: Upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handlers: { openai: json(completion('unused')), custom: json(completion('unused')) },
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Handler {
  return (response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

function write(response: ServerResponse, piece: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    response.write(piece, (error) => (error ? reject(error) : resolve())),
  );
}

/** Writes `pieces` one at a time, each followed by a turn of the event loop, then ends. */
function sse(pieces: ReadonlyArray<string | Buffer>): Handler {
  return async (response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.flushHeaders();
    for (const piece of pieces) {
      await write(response, piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    response.end();
  };
}

function completion(content: string) {
  return {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'upstream-model',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  };
}

function chunk(content: string, finish: string | null = null) {
  return {
    id: 'chatcmpl-up-stream',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'upstream-model',
    x_chunk_vendor: { shard: 3 },
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  };
}

/** Cuts `text` after each UTF-8 byte offset in `at`. */
function cutBytes(text: string, at: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: Buffer[] = [];
  let from = 0;
  for (const offset of at) {
    pieces.push(bytes.subarray(from, offset));
    from = offset;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

const byteOffset = (text: string, needle: string, plus = 0) =>
  Buffer.byteLength(text.slice(0, text.indexOf(needle)), 'utf8') + plus;

interface Fixture {
  stack: Stack;
  upstream: Upstream;
  close(): Promise<void>;
}

async function startFixture(driver: 'pglite' | 'pg'): Promise<Fixture> {
  const upstream = await startUpstream();
  const stack = await startStack(driver, {
    GENLOOP_SIMULATOR: 'off',
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: `${upstream.url}/openai/v1`,
    CUSTOM_PROVIDER_BASE_URL: `${upstream.url}/custom/v1`,
    CUSTOM_PROVIDER_API_KEY: CUSTOM_KEY,
  });
  return {
    stack,
    upstream,
    async close() {
      await stack.close();
      await upstream.close();
    },
  };
}

async function trainingRow(stack: Stack, requestId: string) {
  return eventually(async () => {
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<{
      status: string;
      selected_provider: string;
      fallback_used: boolean;
      output: { content: string } | null;
      tokens_input: number | null;
      tokens_output: number | null;
    }>(
      `select status, selected_provider, fallback_used, output, tokens_input, tokens_output
         from ai_training_examples where request_id = $1`,
      [requestId],
    );
    return rows[0];
  });
}

async function attemptRows(stack: Stack, requestId: string) {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<{
    attempt_no: number;
    provider: string;
    status: string;
    error_class: string | null;
    http_status: number | null;
    retry_after_ms: number | null;
    error: { message: string; status: number | null } | null;
  }>(
    `select attempt_no, provider, status, error_class, http_status, retry_after_ms, error
       from ai_provider_attempts where request_id = $1 order by attempt_no`,
    [requestId],
  );
  return rows;
}

async function streamText(
  stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>,
): Promise<{ text: string; chunks: OpenAI.Chat.ChatCompletionChunk[] }> {
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return { text: chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), chunks };
}

describeEachWith('the gateway relays what the provider sent on the wire', startFixture, (use) => {
  beforeEach(async () => {
    const { stack, upstream } = use();
    upstream.received.length = 0;
    upstream.handlers.openai = json(completion('from openai'));
    upstream.handlers.custom = json(completion('from custom'));
    // openai answers first and is not retried: every test sees one attempt per provider.
    await stack.database.db.query(
      `update ai_provider_configs set max_retries = 0, timeout_ms = 10000 where environment = 'prod'`,
    );
    stack.services.configs.invalidate();
  });

  it('unknown fields and the exact bytes of a JSON answer reach the client', async () => {
    const { stack, upstream } = use();
    const raw =
      '{"id":"chatcmpl-relay",  "object":"chat.completion","created":1700000000,\n' +
      '  "model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb",\n' +
      '  "x_vendor":{"a":1,"nested":{"b":[1,2.50,null]}},' +
      '"choices":[{"index":0,"message":{"role":"assistant","content":"relayed caf\\u00e9",' +
      '"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop",' +
      '"x_choice_score":0.9}],"usage":{"prompt_tokens":17,"completion_tokens":3,' +
      '"total_tokens":20,"prompt_tokens_details":{"cached_tokens":0}},' +
      '"service_tier":"default"}\n';
    upstream.handlers.openai = json(raw, 200, { 'x-request-id': 'req_upstream_1' });
    // The fault header is for the simulator only: a real API never sees it.
    const openai = await gatewayClient(stack, undefined, {
      'x-genloop-simulate': 'openai=error:500',
    });
    const response = await openai.chat.completions
      .create({
        model: 'default',
        messages: [{ role: 'user', content: 'relay me byte for byte' }],
        temperature: 0.3,
      })
      .asResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('x-genloop-selected-provider')).toBe('openai');
    expect(await response.text()).toBe(raw);

    const [sent] = upstream.received;
    expect(upstream.received).toHaveLength(1);
    expect(sent).toMatchObject({ provider: 'openai', url: '/openai/v1/chat/completions' });
    expect(sent!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(sent!.headers['x-genloop-simulate']).toBeUndefined();
    expect(JSON.parse(sent!.body)).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'relay me byte for byte' }],
      temperature: 0.3,
    });

    const requestId = response.headers.get('x-request-id')!;
    expect(await trainingRow(stack, requestId)).toMatchObject({
      status: 'succeeded',
      selected_provider: 'openai',
      fallback_used: false,
      output: { content: 'relayed café' },
      tokens_input: 17,
      tokens_output: 3,
    });
    expect(await attemptRows(stack, requestId)).toMatchObject([
      { attempt_no: 1, provider: 'openai', status: 'succeeded', http_status: 200 },
    ]);
  });

  it('the SDK sees the unknown fields of the relayed answer', async () => {
    const { stack, upstream } = use();
    upstream.handlers.openai = json({
      ...completion('fields kept'),
      system_fingerprint: 'fp_sdk',
      x_vendor: { a: 1 },
    });
    const openai = await gatewayClient(stack);
    const answer = (await openai.chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: 'what do you keep?' }],
    })) as OpenAI.Chat.ChatCompletion & { x_vendor?: unknown };
    expect(answer.system_fingerprint).toBe('fp_sdk');
    expect(answer.x_vendor).toEqual({ a: 1 });
    expect(answer.choices[0]?.message.content).toBe('fields kept');
  });

  it('a stream split at odd boundaries upstream arrives whole', async () => {
    const { stack, upstream } = use();
    const parts = ['Split ', 'streams ', 'arrive ', 'whole.'];
    const usage = { prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 };
    const body =
      `: ping\r\n\r\n${parts
        .map(
          (p, i) =>
            `data: ${JSON.stringify(chunk(p, i === parts.length - 1 ? 'stop' : null))}\r\n\r\n`,
        )
        .join('')}` +
      `data: ${JSON.stringify({ ...chunk(''), choices: [], usage })}\r\n\r\ndata: [DONE]\r\n\r\n`;
    // Inside "data:", inside the JSON, between a CR and its LF, and one byte at a time.
    const cuts = new Set([
      byteOffset(body, 'data: {', 2),
      byteOffset(body, 'streams', 3),
      byteOffset(body, 'arrive'),
      byteOffset(body, 'arrive', 40),
      ...Array.from({ length: 12 }, (_, i) => byteOffset(body, 'whole.', i)),
    ]);
    for (let at = body.indexOf('\r'); at !== -1; at = body.indexOf('\r', at + 1)) {
      cuts.add(Buffer.byteLength(body.slice(0, at + 1), 'utf8'));
    }
    const pieces = cutBytes(
      body,
      [...cuts].sort((a, b) => a - b),
    );
    expect(pieces.filter((piece) => piece.at(-1) === 0x0d).length).toBeGreaterThan(5);
    upstream.handlers.openai = sse(pieces);
    const openai = await gatewayClient(stack);
    const { data: stream, response } = await openai.chat.completions
      .create({
        model: 'default',
        stream: true,
        messages: [{ role: 'user', content: 'stream at odd boundaries' }],
      })
      .withResponse();
    const { text, chunks } = await streamText(stream);
    expect(text).toBe('Split streams arrive whole.');
    // Each chunk is the provider's, unknown fields included.
    expect(chunks[0]).toMatchObject({ id: 'chatcmpl-up-stream', x_chunk_vendor: { shard: 3 } });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');

    const [sent] = upstream.received;
    expect(JSON.parse(sent!.body)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    const requestId = response.headers.get('x-request-id')!;
    expect(await trainingRow(stack, requestId)).toMatchObject({
      status: 'succeeded',
      selected_provider: 'openai',
      output: { content: 'Split streams arrive whole.' },
      tokens_input: 8,
      tokens_output: 4,
    });
  });

  it('a character split between upstream packets reaches the client whole', async () => {
    const { stack, upstream } = use();
    const body =
      `data: ${JSON.stringify(chunk('Grüße aus 東京 🦘', 'stop'))}\n\n` +
      `data: ${JSON.stringify({ ...chunk(''), choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })}\n\ndata: [DONE]\n\n`;
    upstream.handlers.openai = sse(
      cutBytes(body, [
        byteOffset(body, 'ü', 1),
        byteOffset(body, '東', 2),
        byteOffset(body, '🦘', 1),
        byteOffset(body, '🦘', 3),
      ]),
    );
    const openai = await gatewayClient(stack);
    const stream = await openai.chat.completions.create({
      model: 'default',
      stream: true,
      messages: [{ role: 'user', content: 'greetings in several scripts' }],
    });
    expect((await streamText(stream)).text).toBe('Grüße aus 東京 🦘');
  });

  it('a 429 with Retry-After, then fallback: both attempts recorded', async () => {
    const { stack, upstream } = use();
    upstream.handlers.openai = json(
      {
        error: {
          message: 'Rate limit reached for gpt-4o-mini',
          type: 'requests',
          code: 'rate_limit_exceeded',
        },
      },
      429,
      { 'retry-after': '2' },
    );
    const customRaw =
      '{"id":"chatcmpl-custom","object":"chat.completion","created":1,"model":"llama","x_served_by":"vllm","choices":[{"index":0,"message":{"role":"assistant","content":"from the fallback"},"finish_reason":"stop"}],"usage":{"prompt_tokens":6,"completion_tokens":3,"total_tokens":9}}';
    upstream.handlers.custom = json(customRaw);
    const openai = await gatewayClient(stack);
    const response = await openai.chat.completions
      .create({ model: 'default', messages: [{ role: 'user', content: 'fall back please' }] })
      .asResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-genloop-selected-provider')).toBe('custom');
    expect(response.headers.get('x-genloop-fallback-used')).toBe('true');
    expect(await response.text()).toBe(customRaw);

    expect(upstream.received.map((r) => r.provider)).toEqual(['openai', 'custom']);
    const custom = upstream.received[1]!;
    expect(custom.url).toBe('/custom/v1/chat/completions');
    expect(custom.headers.authorization).toBe(`Bearer ${CUSTOM_KEY}`);
    expect(JSON.parse(custom.body)).toMatchObject({ model: 'default' });

    const requestId = response.headers.get('x-request-id')!;
    expect(await trainingRow(stack, requestId)).toMatchObject({
      status: 'succeeded',
      selected_provider: 'custom',
      fallback_used: true,
      output: { content: 'from the fallback' },
      tokens_input: 6,
      tokens_output: 3,
    });
    const attempts = await attemptRows(stack, requestId);
    expect(attempts).toMatchObject([
      {
        attempt_no: 1,
        provider: 'openai',
        status: 'failed',
        error_class: 'rate_limited',
        http_status: 429,
        retry_after_ms: 2000,
      },
      {
        attempt_no: 2,
        provider: 'custom',
        status: 'succeeded',
        error_class: null,
        http_status: 200,
        retry_after_ms: null,
      },
    ]);
    expect(attempts[0]!.error?.message).toContain('Rate limit reached for gpt-4o-mini');
  });
});
