import Replicate from 'replicate';
import { AttemptTimeout, ProviderError } from '../errors.ts';
import { toReplicateError } from './errors.ts';
import { type Prediction, predictionSchema } from './prediction.ts';

export interface ReplicateClientOptions {
  /** REPLICATE_API_TOKEN (any non-empty token for the simulator). */
  token: string;
  /** API base; the simulator's is `${simulatorUrl}/replicate/v1`. Default: Replicate's. */
  baseUrl?: string | undefined;
  servedBy: 'api' | 'simulator';
  /** The fetch the SDK uses underneath (tests count requests). */
  fetch?: typeof fetch;
}

/** One call's limits: its own timeout, the caller's signal, extra headers (simulator faults). */
export interface ReplicateCallOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
}

export interface CreatePredictionRequest {
  /** `owner/name` or `owner/name:version`. */
  model: string;
  input: Record<string, unknown>;
  webhook?: string | undefined;
  webhookEventsFilter?: ('start' | 'output' | 'logs' | 'completed')[];
}

/**
 * Replicate predictions through the official `replicate` SDK: create, get, cancel, and the
 * account's webhook signing secret. Every call is bounded by its own timeout and throws
 * {@link ProviderError}. The SDK retries 429s (and 5xx on GET) by itself, without jitter and
 * without a cap genloop controls; each call therefore gets a fetch that reaches the network
 * once and hands any retry the same answer, so backoff stays genloop's: a 429's Retry-After is
 * honoured, 5xx backoff is capped and jittered, and a create is never resent blindly.
 */
export class ReplicateClient {
  readonly servedBy: 'api' | 'simulator';
  constructor(private readonly options: ReplicateClientOptions) {
    if (!options.token) throw new TypeError('ReplicateClient: a token is required');
    this.servedBy = options.servedBy;
  }

  /** Starts a prediction; the answer (status `starting`) carries its id. */
  create(request: CreatePredictionRequest, options: ReplicateCallOptions): Promise<Prediction> {
    return this.call(options, async (sdk, signal) =>
      sdk.predictions.create({
        ...modelTarget(request.model),
        input: request.input,
        ...(request.webhook ? { webhook: request.webhook } : {}),
        ...(request.webhookEventsFilter
          ? { webhook_events_filter: request.webhookEventsFilter }
          : {}),
        signal,
      } as Parameters<Replicate['predictions']['create']>[0]),
    );
  }

  get(id: string, options: ReplicateCallOptions): Promise<Prediction> {
    return this.call(options, (sdk, signal) => sdk.predictions.get(id, { signal }));
  }

  cancel(id: string, options: ReplicateCallOptions): Promise<Prediction> {
    return this.call(options, (sdk, signal) => sdk.predictions.cancel(id, { signal }));
  }

  /** The account's webhook signing secret (`whsec_...`), used when REPLICATE_WEBHOOK_SECRET is unset. */
  async defaultWebhookSecret(options: ReplicateCallOptions): Promise<string> {
    const once = singleShotFetch(this.options.fetch ?? fetch, options.headers);
    const { signal, done } = callSignal(options);
    try {
      const sdk = this.sdk(once.fetch);
      const secret = await sdk.webhooks.default.secret.get({ signal });
      return secret.key;
    } catch (error) {
      throw toReplicateError(error, { signal, body: await once.errorBody() });
    } finally {
      done();
    }
  }

  private async call(
    options: ReplicateCallOptions,
    run: (sdk: Replicate, signal: AbortSignal) => Promise<unknown>,
  ): Promise<Prediction> {
    const once = singleShotFetch(this.options.fetch ?? fetch, options.headers);
    const { signal, done } = callSignal(options);
    let answer: unknown;
    try {
      answer = await run(this.sdk(once.fetch), signal);
    } catch (error) {
      throw toReplicateError(error, { signal, body: await once.errorBody() });
    } finally {
      done();
    }
    const parsed = predictionSchema.safeParse(answer);
    if (!parsed.success) {
      throw new ProviderError({
        provider: 'replicate',
        message: `replicate answered with something that is not a prediction: ${parsed.error.issues[0]?.message}`,
        errorClass: 'invalid_output',
        retryable: false,
        body: answer,
      });
    }
    return parsed.data;
  }

  private sdk(fetchOnce: typeof fetch): Replicate {
    return new Replicate({
      auth: this.options.token,
      ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}),
      fetch: fetchOnce,
      useFileOutput: false,
      userAgent: 'genloop',
    });
  }
}

/** The call's signal: the caller's, plus genloop's own timeout (told apart by its reason). */
function callSignal(options: ReplicateCallOptions): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeout(options.timeoutMs)),
    options.timeoutMs,
  );
  // AbortSignal.any keeps the reason of the signal that fired: the timeout stays recognisable.
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  return { signal, done: () => clearTimeout(timer) };
}

/**
 * A fetch that goes to the network on its first call only; later calls (the SDK's automatic
 * retries) get a copy of the same answer or the same error at once.
 */
function singleShotFetch(
  base: typeof fetch,
  headers: Readonly<Record<string, string>> | undefined,
): { fetch: typeof fetch; errorBody(): Promise<unknown> } {
  let first: Promise<Response> | undefined;
  const once = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    first ??= base(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string> | undefined), ...headers },
    });
    return first.then((response) => response.clone());
  }) as typeof fetch;
  return {
    fetch: once,
    async errorBody() {
      const response = await first?.catch(() => undefined);
      if (!response || response.ok) return undefined;
      const text = await response
        .clone()
        .text()
        .catch(() => '');
      try {
        return JSON.parse(text);
      } catch {
        return text.slice(0, 2_000) || undefined;
      }
    },
  };
}

/**
 * How the SDK should address a model: `owner/name` runs the model's latest version (official
 * models endpoint); `owner/name:version` pins a version (POST /predictions, which takes the
 * `owner/name:version` form as its `version`).
 */
export function modelTarget(model: string): { model: string } | { version: string } {
  return model.includes(':') ? { version: model } : { model };
}
