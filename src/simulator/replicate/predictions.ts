import { createHash } from 'node:crypto';
import { toError } from '../../lib/errors.ts';
import type { SimulatorContext } from '../context.ts';
import { type Fault, findFault } from '../faults.ts';
import { randomId } from '../seeded.ts';
import { CONTENT_TYPES, renderImage } from './images.ts';
import type { ImageParams } from './inputs.ts';
import type { WebhookEvent, WebhookSender } from './webhooks.ts';

export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

const TERMINAL: ReadonlySet<PredictionStatus> = new Set(['succeeded', 'failed', 'canceled']);

interface StoredFile {
  bytes: Buffer;
  contentType: string;
}

interface Prediction {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  params: ImageParams;
  webhook: string | undefined;
  events: ReadonlySet<WebhookEvent>;
  faults: readonly Fault[];
  status: PredictionStatus;
  output: string[] | null;
  error: string | null;
  logs: string;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  files: StoredFile[];
  dataRemoved: boolean;
  waiters: Set<() => void>;
}

/** The deterministic version id of a model (Replicate's are 64 hex characters). */
export function versionOf(model: string): string {
  return createHash('sha256').update(`version:${model}`).digest('hex');
}

/**
 * Replicate's predictions, in memory: create, get, cancel and list, with the lifecycle
 * starting → processing → succeeded | failed | canceled driven by timers, real output images,
 * and webhooks for the requested events. Files are dropped after `fileTtlMs`, as Replicate
 * deletes outputs after an hour.
 */
export class PredictionStore {
  readonly #context: SimulatorContext;
  readonly #webhooks: WebhookSender;
  readonly #fileTtlMs: number;
  readonly #maxPredictions: number;
  readonly #predictions = new Map<string, Prediction>();
  readonly #pending = new Set<Promise<void>>();

  constructor(
    context: SimulatorContext,
    webhooks: WebhookSender,
    options: { fileTtlMs: number; maxPredictions: number },
  ) {
    this.#context = context;
    this.#webhooks = webhooks;
    this.#fileTtlMs = options.fileTtlMs;
    this.#maxPredictions = options.maxPredictions;
  }

  create(init: {
    model: string;
    version: string;
    input: Record<string, unknown>;
    params: ImageParams;
    webhook: string | undefined;
    events: ReadonlySet<WebhookEvent>;
    faults: readonly Fault[];
  }): Prediction {
    this.#evict();
    const prediction: Prediction = {
      ...init,
      id: randomId(26),
      status: 'starting',
      output: null,
      error: null,
      logs: '',
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      files: [],
      dataRemoved: false,
      waiters: new Set(),
    };
    this.#predictions.set(prediction.id, prediction);
    this.#context.stats.predictionsCreated += 1;
    this.#notify(prediction, 'start');
    this.#context.lifecycle.timeout(0, () => this.#start(prediction));
    return prediction;
  }

  get(id: string): Prediction | undefined {
    const prediction = this.#predictions.get(id);
    if (prediction && !prediction.dataRemoved && prediction.completedAt) {
      if (Date.now() - prediction.completedAt.getTime() > this.#fileTtlMs) {
        prediction.dataRemoved = true;
        prediction.files = [];
      }
    }
    return prediction;
  }

  list(): Prediction[] {
    return [...this.#predictions.values()].reverse();
  }

  /** Cancels a prediction that has not finished; a finished one is returned as it is. */
  cancel(prediction: Prediction): void {
    if (TERMINAL.has(prediction.status)) return;
    this.#context.stats.predictionsCanceled += 1;
    this.#finish(prediction, 'canceled');
  }

  file(id: string, index: number): StoredFile | undefined {
    return this.get(id)?.files[index];
  }

  /** Resolves when the prediction is terminal, after `ms`, or when the simulator closes. */
  async waitForTerminal(prediction: Prediction, ms: number): Promise<void> {
    if (TERMINAL.has(prediction.status)) return;
    let release: () => void = () => {};
    const terminal = new Promise<void>((resolve) => {
      release = resolve;
      prediction.waiters.add(resolve);
    });
    await Promise.race([terminal, this.#context.lifecycle.sleep(ms)]);
    prediction.waiters.delete(release);
    release();
  }

  /** Waits for image rendering that is still running (close() calls this). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** Replicate's JSON for a prediction. */
  toJson(prediction: Prediction): Record<string, unknown> {
    const base = `${this.#context.publicUrl}/replicate/v1/predictions/${prediction.id}`;
    const metrics: Record<string, number> = {};
    if (prediction.startedAt && prediction.completedAt) {
      metrics.predict_time =
        (prediction.completedAt.getTime() - prediction.startedAt.getTime()) / 1000;
      metrics.total_time =
        (prediction.completedAt.getTime() - prediction.createdAt.getTime()) / 1000;
      if (prediction.status === 'succeeded') metrics.image_count = prediction.params.count;
    }
    return {
      id: prediction.id,
      model: prediction.model,
      version: prediction.version,
      input: prediction.input,
      logs: prediction.logs,
      output: prediction.dataRemoved ? null : prediction.output,
      data_removed: prediction.dataRemoved,
      error: prediction.error,
      status: prediction.status,
      source: 'api',
      created_at: prediction.createdAt.toISOString(),
      started_at: prediction.startedAt?.toISOString() ?? null,
      completed_at: prediction.completedAt?.toISOString() ?? null,
      metrics,
      urls: {
        get: base,
        cancel: `${base}/cancel`,
        web: `${this.#context.publicUrl}/replicate/p/${prediction.id}`,
      },
      ...(prediction.webhook ? { webhook: prediction.webhook } : {}),
    };
  }

  #start(prediction: Prediction): void {
    if (prediction.status !== 'starting') return;
    prediction.status = 'processing';
    prediction.startedAt = new Date();
    prediction.logs = `Using seed: ${prediction.params.seed}\nGenerating ${prediction.params.count} image(s) of ${prediction.params.width}x${prediction.params.height}\n`;
    this.#notify(prediction, 'logs');
    if (findFault(prediction.faults, 'hang')) return;
    const slow = findFault(prediction.faults, 'slow');
    const runMs = slow ? slow.ms : this.#context.latency().sample('replicate', prediction.model);
    this.#context.lifecycle.timeout(runMs, () => this.#complete(prediction));
  }

  #complete(prediction: Prediction): void {
    if (prediction.status !== 'processing') return;
    if (findFault(prediction.faults, 'refuse')) {
      prediction.error = 'NSFW content detected. Try running it again, or try a different prompt.';
      this.#finish(prediction, 'failed');
      return;
    }
    if (findFault(prediction.faults, 'fail')) {
      prediction.logs +=
        'Traceback (most recent call last):\nRuntimeError: CUDA out of memory (simulated)\n';
      prediction.error = 'CUDA out of memory (simulated failure)';
      this.#finish(prediction, 'failed');
      return;
    }
    const work = this.#render(prediction).catch((error: unknown) => {
      if (prediction.status !== 'processing') return;
      prediction.error = `image rendering failed: ${toError(error).message}`;
      this.#finish(prediction, 'failed');
    });
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  async #render(prediction: Prediction): Promise<void> {
    const { params } = prediction;
    const files: StoredFile[] = [];
    for (let index = 0; index < params.count; index += 1) {
      const bytes = await renderImage({
        width: params.width,
        height: params.height,
        format: params.format,
        seed: `${params.seed}:${params.prompt}:${index}`,
      });
      files.push({ bytes, contentType: CONTENT_TYPES[params.format] });
    }
    // Canceled (or the simulator closed) while rendering: the output is thrown away.
    if (prediction.status !== 'processing' || this.#context.lifecycle.closed) return;
    prediction.files = files;
    prediction.output = files.map(
      (_, index) =>
        `${this.#context.publicUrl}/replicate/files/${prediction.id}/${index}.${params.format}`,
    );
    prediction.logs += `Generated ${files.length} image(s)\n`;
    this.#notify(prediction, 'output');
    this.#finish(prediction, 'succeeded');
  }

  #finish(prediction: Prediction, status: 'succeeded' | 'failed' | 'canceled'): void {
    prediction.status = status;
    prediction.completedAt = new Date();
    if (!prediction.startedAt) prediction.startedAt = prediction.completedAt;
    this.#notify(prediction, 'completed');
    for (const release of prediction.waiters) release();
    prediction.waiters.clear();
  }

  #notify(prediction: Prediction, event: WebhookEvent): void {
    if (!prediction.webhook || !prediction.events.has(event)) return;
    if (findFault(prediction.faults, 'no-webhook')) return;
    const copies =
      event === 'completed' && findFault(prediction.faults, 'duplicate-webhook') ? 2 : 1;
    this.#webhooks.send(
      prediction.webhook,
      prediction.id,
      event,
      this.toJson(prediction) as { status: string },
      copies,
    );
  }

  #evict(): void {
    if (this.#predictions.size < this.#maxPredictions) return;
    for (const [id, prediction] of this.#predictions) {
      if (this.#predictions.size < this.#maxPredictions) break;
      if (TERMINAL.has(prediction.status)) this.#predictions.delete(id);
    }
  }
}

export type { Prediction };
