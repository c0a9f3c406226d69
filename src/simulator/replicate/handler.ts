import type { ServerResponse } from 'node:http';
import { faultsForRequest, type SimulatorContext } from '../context.ts';
import { type Fault, FaultSyntaxError, findFault } from '../faults.ts';
import { bearerToken, header, resetConnection, type SimulatorRequest, sendJson } from '../http.ts';
import { CONTENT_TYPES } from './images.ts';
import { type ImageFormat, imageParams } from './inputs.ts';
import { type PredictionStore, versionOf } from './predictions.ts';
import { WEBHOOK_EVENTS, type WebhookEvent, type WebhookSender } from './webhooks.ts';

const DEFAULT_EVENTS: readonly WebhookEvent[] = ['output', 'logs', 'completed'];
const MAX_WAIT_SECONDS = 60;

/** Replicate's error body: a problem document with title, detail and status. */
function problem(
  response: ServerResponse,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const titles: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthenticated',
    402: 'Insufficient credit',
    404: 'Not found',
    422: 'Input validation failed',
    429: 'Too many requests',
    500: 'Internal server error',
    503: 'Service unavailable',
  };
  const body = JSON.stringify({
    title: titles[status] ?? `Error ${status}`,
    detail,
    status,
    ...extra,
  });
  if (response.destroyed || response.headersSent) return;
  response.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

/** Serves `/replicate/v1/...`: predictions, models, the default webhook secret, account. */
export async function handleReplicate(
  context: SimulatorContext,
  store: PredictionStore,
  webhooks: WebhookSender,
  request: SimulatorRequest,
): Promise<void> {
  const { method, route, response } = request;
  if (bearerToken(request.headers) === undefined) {
    return problem(response, 401, 'You did not pass a valid authentication token');
  }
  const segments = route.split('/').filter(Boolean).map(decodeURIComponent);
  const predictionModel =
    segments[0] === 'predictions' && segments[1] ? store.get(segments[1])?.model : undefined;
  const modelFromPath =
    segments[0] === 'models' && segments[1] && segments[2]
      ? `${segments[1]}/${segments[2]}`
      : undefined;

  let faults: Fault[];
  try {
    faults = faultsForRequest(
      context,
      'replicate',
      modelFromPath ?? predictionModel,
      header(request.headers, 'x-genloop-simulate'),
    );
  } catch (error) {
    if (!(error instanceof FaultSyntaxError)) throw error;
    return problem(response, 400, `x-genloop-simulate: ${error.message}`);
  }
  if (findFault(faults, 'reset')) return resetConnection(request.request);
  const error = findFault(faults, 'error');
  if (error) {
    const headers: Record<string, string> =
      error.retryAfterSeconds === undefined
        ? {}
        : { 'retry-after': String(error.retryAfterSeconds) };
    return problem(response, error.status, `Simulated error ${error.status}.`, {}, headers);
  }

  if (method === 'POST' && route === '/predictions') {
    return createPrediction(context, store, request, faults, undefined);
  }
  if (
    method === 'POST' &&
    segments.length === 4 &&
    (segments[0] === 'models' || segments[0] === 'deployments') &&
    segments[3] === 'predictions'
  ) {
    return createPrediction(context, store, request, faults, `${segments[1]}/${segments[2]}`);
  }
  if (method === 'GET' && route === '/predictions') {
    return sendJson(response, 200, {
      next: null,
      previous: null,
      results: store
        .list()
        .slice(0, 100)
        .map((prediction) => store.toJson(prediction)),
    });
  }
  if (segments[0] === 'predictions' && segments[1] !== undefined) {
    const prediction = store.get(segments[1]);
    if (!prediction) return problem(response, 404, 'Not found.');
    if (method === 'GET' && segments.length === 2)
      return sendJson(response, 200, store.toJson(prediction));
    if (method === 'POST' && segments.length === 3 && segments[2] === 'cancel') {
      store.cancel(prediction);
      return sendJson(response, 200, store.toJson(prediction));
    }
  }
  if (method === 'GET' && segments.length === 3 && segments[0] === 'models') {
    const model = `${segments[1]}/${segments[2]}`;
    return sendJson(response, 200, {
      url: `${context.publicUrl}/replicate/${model}`,
      owner: segments[1],
      name: segments[2],
      description: 'A simulated image model (genloop simulator).',
      visibility: 'public',
      run_count: 0,
      latest_version: {
        id: versionOf(model),
        created_at: '2025-01-01T00:00:00Z',
        cog_version: 'simulated',
      },
    });
  }
  if (method === 'GET' && route === '/webhooks/default/secret') {
    return sendJson(response, 200, { key: webhooks.secret });
  }
  if (method === 'GET' && route === '/account') {
    return sendJson(response, 200, {
      type: 'user',
      username: 'genloop-simulator',
      name: 'genloop simulator',
    });
  }
  return problem(response, 404, 'Not found.');
}

async function createPrediction(
  context: SimulatorContext,
  store: PredictionStore,
  request: SimulatorRequest,
  faults: readonly Fault[],
  modelFromPath: string | undefined,
): Promise<void> {
  const { response } = request;
  if (
    request.bodyInvalid ||
    typeof request.body !== 'object' ||
    request.body === null ||
    Array.isArray(request.body)
  ) {
    return problem(response, 400, 'The request body is not a JSON object.');
  }
  const body = request.body as {
    version?: unknown;
    input?: unknown;
    webhook?: unknown;
    webhook_events_filter?: unknown;
  };
  const invalid: { field: string; description: string }[] = [];
  let model = modelFromPath;
  let version: string | undefined;
  if (model === undefined) {
    if (typeof body.version !== 'string' || body.version.length === 0) {
      invalid.push({ field: 'version', description: 'Required' });
    } else if (body.version.includes(':')) {
      // The API also takes "owner/name:version".
      [model, version] = body.version.split(':', 2) as [string, string];
    } else {
      version = body.version;
      model = 'genloop-simulator/image';
    }
  }
  if (typeof body.input !== 'object' || body.input === null || Array.isArray(body.input)) {
    invalid.push({ field: 'input', description: 'Required; must be an object' });
  }
  let webhook: string | undefined;
  if (body.webhook !== undefined && body.webhook !== null) {
    const url = typeof body.webhook === 'string' ? parseUrl(body.webhook) : undefined;
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      invalid.push({ field: 'webhook', description: 'Must be an http(s) URL' });
    } else {
      webhook = url.href;
    }
  }
  let events: ReadonlySet<WebhookEvent> = new Set(DEFAULT_EVENTS);
  if (body.webhook_events_filter !== undefined && body.webhook_events_filter !== null) {
    const filter = body.webhook_events_filter;
    if (
      !Array.isArray(filter) ||
      filter.some((event) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(event))
    ) {
      invalid.push({
        field: 'webhook_events_filter',
        description: `Each item must be one of: ${WEBHOOK_EVENTS.join(', ')}`,
      });
    } else {
      events = new Set(filter as WebhookEvent[]);
    }
  }
  const input = (invalid.some((entry) => entry.field === 'input') ? {} : body.input) as Record<
    string,
    unknown
  >;
  const params = imageParams(input);
  if ('invalid' in params) invalid.push(...params.invalid);
  if (invalid.length > 0 || 'invalid' in params) {
    return problem(
      response,
      422,
      invalid.map((entry) => `- ${entry.field}: ${entry.description}`).join('\n'),
      {
        invalid_fields: invalid.map((entry) => ({ type: 'invalid', ...entry })),
      },
    );
  }

  const prediction = store.create({
    model: model!,
    version: version ?? versionOf(model!),
    input,
    params,
    webhook,
    events,
    faults,
  });
  if (findFault(faults, 'reset-after-create')) return resetConnection(request.request);

  const wait = preferWait(header(request.headers, 'prefer'));
  if (wait !== undefined) await store.waitForTerminal(prediction, wait * 1000);
  if (request.signal.aborted) return;
  sendJson(response, 201, store.toJson(prediction), {
    location: `${context.publicUrl}/replicate/v1/predictions/${prediction.id}`,
  });
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** `Prefer: wait` (60 s) or `Prefer: wait=n` (1–60 s): hold the answer until the prediction ends. */
function preferWait(value: string | undefined): number | undefined {
  const match = value?.match(/(?:^|[\s,;])wait(?:=(\d+))?(?:$|[\s,;])/);
  if (!match) return undefined;
  const seconds = match[1] === undefined ? MAX_WAIT_SECONDS : Number(match[1]);
  return Math.min(MAX_WAIT_SECONDS, Math.max(1, seconds));
}

/** Serves `/replicate/files/<prediction>/<n>.<ext>`: the output images, no authentication. */
export function handleReplicateFile(store: PredictionStore, request: SimulatorRequest): void {
  const { response } = request;
  const match = request.route.match(/^\/([a-z0-9]+)\/(\d+)\.(png|webp|jpg)$/);
  const file = match ? store.file(match[1]!, Number(match[2])) : undefined;
  const extensionMatches =
    file !== undefined && file.contentType === CONTENT_TYPES[match![3] as ImageFormat];
  if (!file || !extensionMatches || (request.method !== 'GET' && request.method !== 'HEAD')) {
    problem(response, 404, 'Not found.');
    return;
  }
  response.writeHead(200, {
    'content-type': file.contentType,
    'content-length': file.bytes.length,
    'cache-control': 'public, max-age=3600',
  });
  response.end(request.method === 'HEAD' ? undefined : file.bytes);
}
