import type { BudgetGate } from '../../budgets/gate.ts';
import type { ResolvedConfig } from '../../config/schema.ts';
import type { Db } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { PriceBook } from '../../providers/pricing.ts';
import type { ReplicateClient } from '../../providers/replicate/client.ts';
import type { BackoffOptions } from '../../routing/backoff.ts';
import type { ProviderConfig } from '../../routing/types.ts';
import type { AssetFetchOptions } from '../../storage/asset-fetch.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import type { PredictionSignals } from './signals.ts';

/** What the interior flow's service, worker handler, webhook and poller share. */
export interface InteriorDeps {
  config: ResolvedConfig;
  db: Db;
  logger: Logger;
  store: BlobStore;
  /** Undefined when Replicate is disabled (no REPLICATE_API_TOKEN and no simulator). */
  replicate: ReplicateClient | undefined;
  /** The enabled `replicate` row of `ai_provider_configs` in this environment, if any. */
  providerConfig(): Promise<ProviderConfig | undefined>;
  signals: PredictionSignals;
  /** Download rules for provider outputs (allow-list, trusted simulator origin, size cap). */
  assets: Omit<AssetFetchOptions, 'signal'>;
  /** The Standard Webhooks secret Replicate signs with, when one is known. */
  webhookSecret(): Promise<string | undefined>;
  /** Backoff of genloop's own retries (create, downloads); tests shorten it. */
  backoff: BackoffOptions;
  /** Prices of image models: what each prediction cost (unpriced: unknown). */
  prices?: PriceBook | undefined;
  /** Dollar budgets: a render's reservation at submit; none: renders are not limited. */
  budgets?: BudgetGate | undefined;
  /** The worker's poll of a running prediction: first wait, doubling up to the last. */
  pollDelays: { initialMs: number; maxMs: number };
}
