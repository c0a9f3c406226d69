import { z } from 'zod';

/** Replicate's prediction states; `aborted` is newer API's "stopped before it started". */
export const PREDICTION_STATUSES = [
  'starting',
  'processing',
  'succeeded',
  'failed',
  'canceled',
  'aborted',
] as const;
export type PredictionStatus = (typeof PREDICTION_STATUSES)[number];

/**
 * The parts of a prediction genloop reads, from an API answer or a webhook body (they are the
 * same object). Other fields pass through untouched.
 */
export const predictionSchema = z
  .object({
    // Replicate's ids are short alphanumeric strings; anything else cannot be one of ours.
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'not a prediction id'),
    status: z.enum(PREDICTION_STATUSES),
    model: z.string().optional(),
    version: z.string().optional(),
    output: z.unknown().optional(),
    error: z.unknown().optional(),
    data_removed: z.boolean().optional(),
    metrics: z
      .object({ predict_time: z.number().optional(), total_time: z.number().optional() })
      .passthrough()
      .nullish(),
    created_at: z.string().nullish(),
    started_at: z.string().nullish(),
    completed_at: z.string().nullish(),
  })
  .passthrough();

export type Prediction = z.infer<typeof predictionSchema>;

/** True once a prediction will not change any more. */
export function isTerminal(status: PredictionStatus): boolean {
  return status !== 'starting' && status !== 'processing';
}

/** The output URLs of a finished image prediction (a single URL or a list; anything else: none). */
export function outputUrls(prediction: Prediction): string[] {
  const { output } = prediction;
  if (typeof output === 'string') return [output];
  if (Array.isArray(output))
    return output.filter((item): item is string => typeof item === 'string');
  return [];
}

/** The prediction's error as text, bounded (Replicate sends a string; be lenient). */
export function predictionError(prediction: Prediction): string | null {
  const { error } = prediction;
  if (error === undefined || error === null || error === '') return null;
  return (typeof error === 'string' ? error : JSON.stringify(error)).slice(0, 1_000);
}

/** Wall time of the prediction in ms, from its own timestamps or metrics. */
export function predictionLatencyMs(prediction: Prediction): number | null {
  const created = Date.parse(prediction.created_at ?? '');
  const completed = Date.parse(prediction.completed_at ?? '');
  if (Number.isFinite(created) && Number.isFinite(completed) && completed >= created) {
    return completed - created;
  }
  const total = prediction.metrics?.total_time;
  return typeof total === 'number' && total >= 0 ? Math.round(total * 1000) : null;
}
