import OpenAI, { type APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { rejectionOf } from '../helpers/errors.ts';

let simulator: Simulator;
let openai: OpenAI;

beforeAll(async () => {
  simulator = await startSimulator();
  openai = new OpenAI({
    apiKey: 'sim',
    baseURL: simulator.baseUrls.openai,
    maxRetries: 0,
    logLevel: 'off',
  });
});
afterAll(() => simulator.close());
afterEach(() => simulator.setFaults({}));

const messages = [
  { role: 'user' as const, content: 'Tell me about the Great Barrier Reef and its coral.' },
];
const streamRequest = {
  model: 'gpt-4o-mini',
  messages,
  stream: true as const,
  stream_options: { include_usage: true },
};

/** Each fault is tested twice: chosen per request by the header, and set in the simulator's config. */
describe.each(['header', 'config'] as const)('faults chosen by %s', (mode) => {
  function using(fault: string): OpenAI.RequestOptions {
    if (mode === 'config') {
      simulator.setFaults({ openai: fault });
      return {};
    }
    return { headers: { 'x-genloop-simulate': `openai=${fault}` } };
  }

  it('error:429 → RateLimitError with retry-after and retry-after-ms on its headers', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, using('error:429')),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as APIError;
    expect(apiError.status).toBe(429);
    expect(apiError.headers?.get('retry-after')).toBe('1');
    expect(apiError.headers?.get('retry-after-ms')).toBe('1000');
    expect(apiError.code).toBe('rate_limit_exceeded');
  });

  it('error:429:7 → Retry-After of 7 seconds', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, using('error:429:7')),
    );
    expect((error as APIError).headers?.get('retry-after')).toBe('7');
  });

  it('error:503 → InternalServerError 503', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, using('error:503')),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(503);
  });

  it('refuse → 400 with code content_policy_violation', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, using('refuse')),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).code).toBe('content_policy_violation');
  });

  it('hang → no answer; the caller’s AbortSignal ends the call', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create(
        { model: 'gpt-4o-mini', messages },
        { ...using('hang'), signal: AbortSignal.timeout(150) },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
  });

  it('reset → APIConnectionError', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, using('reset')),
    );
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('slow:50 → the same answer, later', async () => {
    const expected = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const data = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      using('slow:50'),
    );
    expect(data.choices[0]?.message.content).toBe(expected.choices[0]?.message.content);
  });

  it('stream-cut:3 → three chunks, then the stream breaks', async () => {
    const stream = await openai.chat.completions.create(streamRequest, using('stream-cut:3'));
    const received: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    );
    expect(received).toHaveLength(3);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(OpenAI.APIUserAbortError);
  });

  it('stream-error:2 → two chunks, then an error event the SDK throws as APIError', async () => {
    const stream = await openai.chat.completions.create(streamRequest, using('stream-error:2'));
    const received: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    );
    expect(received).toHaveLength(2);
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });

  it('malformed-sse → a garbage data line after the first chunk fails the parse', async () => {
    const stream = await openai.chat.completions.create(streamRequest, using('malformed-sse'));
    const received: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    );
    expect(received).toHaveLength(1);
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('stall:60000 → the first chunk arrives, then nothing until the caller aborts', async () => {
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(streamRequest, {
      ...using('stall:60000'),
      signal: controller.signal,
    });
    const received: unknown[] = [];
    for await (const chunk of stream) {
      received.push(chunk);
      setTimeout(() => controller.abort(), 150);
    }
    expect(controller.signal.aborted).toBe(true);
    expect(received).toHaveLength(1);
  });

  it('invalid-json → content that does not parse', async () => {
    const data = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages, response_format: { type: 'json_object' } },
      using('invalid-json'),
    );
    expect(() => JSON.parse(data.choices[0]?.message.content ?? '')).toThrow(SyntaxError);
  });

  it('unsafe-html → content with script, inline handler and javascript: URL', async () => {
    const data = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      using('unsafe-html'),
    );
    expect(data.choices[0]?.message.content).toMatch(
      /<script>.*javascript:|javascript:.*<script>/s,
    );
    expect(data.choices[0]?.message.content).toContain('onerror=');
  });
});

describe('fault resolution', () => {
  it('a model-specific config fault hits only that model', async () => {
    simulator.setFaults({ 'openai/gpt-4o': 'error:503' });
    await expect(
      openai.chat.completions.create({ model: 'gpt-4o', messages }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const ok = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(ok.choices[0]?.message.content).toBeTruthy();
  });

  it('the header beats the config, and only its own provider’s entry applies', async () => {
    simulator.setFaults({ openai: 'error:503' });
    const ok = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers: { 'x-genloop-simulate': 'custom=error:500;openai=ok' } },
    );
    expect(ok.choices[0]?.finish_reason).toBe('stop');
    simulator.setFaults({});
    const untouched = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers: { 'x-genloop-simulate': 'custom=error:500;replicate=fail' } },
    );
    expect(untouched.choices[0]?.finish_reason).toBe('stop');
  });

  it('a header entry for provider/model applies to that model only', async () => {
    const headers = { 'x-genloop-simulate': 'openai/gpt-4o=error:429' };
    await expect(
      openai.chat.completions.create({ model: 'gpt-4o', messages }, { headers }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const ok = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers },
    );
    expect(ok.choices[0]?.finish_reason).toBe('stop');
  });

  it('an unknown fault in the header is a 400 that names it', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create(
        { model: 'gpt-4o-mini', messages },
        { headers: { 'x-genloop-simulate': 'openai=explode' } },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).message).toContain('explode');
  });

  it('combined faults apply together (slow and invalid-json)', async () => {
    const data = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages, response_format: { type: 'json_object' } },
      { headers: { 'x-genloop-simulate': 'openai=slow:20,invalid-json' } },
    );
    expect(() => JSON.parse(data.choices[0]?.message.content ?? '')).toThrow(SyntaxError);
  });

  it('bad faults in the options are refused when the simulator starts', async () => {
    await expect(startSimulator({ faults: { openai: 'fail' } })).rejects.toThrow(
      /does not apply to openai/,
    );
    await expect(startSimulator({ faults: { anthropic: 'hang' } })).rejects.toThrow(
      /not a simulated provider/,
    );
  });
});

describe('close()', () => {
  it('ends hanging requests and open streams, and resolves', async () => {
    const own = await startSimulator({ faults: { openai: 'hang', custom: 'stall:600000' } });
    const client = new OpenAI({
      apiKey: 'sim',
      baseURL: own.baseUrls.openai,
      maxRetries: 0,
      logLevel: 'off',
    });
    const custom = new OpenAI({
      apiKey: 'sim',
      baseURL: own.baseUrls.custom,
      maxRetries: 0,
      logLevel: 'off',
    });
    const hanging = rejectionOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    const stream = await custom.chat.completions.create({ ...streamRequest, model: 'llama' });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const rest = rejectionOf(iterator.next());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await own.close();
    expect(await hanging).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(await rest).toBeInstanceOf(Error);
  });
});

describe('latency', () => {
  it('applies the configured latency per request unless a fault says otherwise', async () => {
    const own = await startSimulator({
      latency: { openai: { distribution: 'fixed', p50Ms: 600_000 } },
    });
    const client = new OpenAI({ apiKey: 'sim', baseURL: own.baseUrls.openai, maxRetries: 0 });
    const custom = new OpenAI({ apiKey: 'sim', baseURL: own.baseUrls.custom, maxRetries: 0 });
    try {
      const delayed = await rejectionOf(
        client.chat.completions.create(
          { model: 'gpt-4o-mini', messages },
          { signal: AbortSignal.timeout(100) },
        ),
      );
      expect(delayed).toBeInstanceOf(OpenAI.APIUserAbortError);
      const overridden = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages },
        { headers: { 'x-genloop-simulate': 'openai=slow:0' } },
      );
      expect(overridden.choices[0]?.finish_reason).toBe('stop');
      const otherProvider = await custom.chat.completions.create({ model: 'llama', messages });
      expect(otherProvider.choices[0]?.finish_reason).toBe('stop');
    } finally {
      await own.close();
    }
  });
});
