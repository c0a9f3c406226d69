import type { Db } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { ProviderName } from '../providers/types.ts';
import {
  recordProviderFailure,
  recordProviderRecovery,
  selectProviderHealth,
} from '../sql/provider-health.ts';

export interface CooldownOptions {
  /** Consecutive failed requests that put a provider in cooldown. */
  threshold?: number;
  cooldownMs?: number;
  /** How long the in-memory copy of the shared state is trusted. */
  refreshMs?: number;
  logger?: Logger;
}

/**
 * Cooldown of failing providers, shared by all replicas through `ai_provider_health`. Reads
 * come from a copy refreshed in the background, so the hot path never waits on the database;
 * writes happen only on failures and on the first success after them.
 */
export class Cooldown {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly refreshMs: number;
  private state = new Map<string, { failures: number; until: number }>();
  /** Counts local writes; a provider's entry remembers the count of its last one. */
  private writes = 0;
  private writtenAt = new Map<string, number>();
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly environment: string,
    private readonly options: CooldownOptions = {},
  ) {
    this.threshold = options.threshold ?? 3;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.refreshMs = options.refreshMs ?? 1_000;
  }

  /** Providers in cooldown now (from the last refresh; refreshes in the background when old). */
  coolingDown(now: number = Date.now()): ReadonlySet<ProviderName> {
    if (now - this.refreshedAt > this.refreshMs) void this.refresh();
    let result: Set<ProviderName> | undefined;
    for (const [provider, entry] of this.state) {
      if (entry.until <= now) continue;
      result ??= new Set();
      result.add(provider as ProviderName);
    }
    return result ?? NONE_COOLING;
  }

  /** Loads the shared state now (used at start and by tests). */
  refresh(): Promise<void> {
    const startedAt = this.writes;
    this.refreshing ??= selectProviderHealth(this.db, this.environment)
      .then((rows) => {
        const state = new Map(
          rows.map((row) => [
            row.provider,
            {
              failures: row.consecutive_failures,
              until: row.cooldown_until ? row.cooldown_until.getTime() : 0,
            },
          ]),
        );
        // A failure or recovery recorded by this process while the read was in flight is newer
        // than the snapshot: keep it, or a stale read could lift a cooldown just put in place.
        for (const [provider, write] of this.writtenAt) {
          const local = this.state.get(provider);
          if (write > startedAt && local) state.set(provider, local);
        }
        this.state = state;
        this.refreshedAt = Date.now();
      })
      .catch((error) => this.options.logger?.warn({ err: error }, 'cannot read provider health'))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  async failure(provider: ProviderName, errorClass: string): Promise<void> {
    try {
      const row = await recordProviderFailure(this.db, {
        provider,
        environment: this.environment,
        errorClass,
        threshold: this.threshold,
        cooldownMs: this.cooldownMs,
      });
      this.setLocal(provider, {
        failures: row.consecutive_failures,
        until: row.cooldown_until ? row.cooldown_until.getTime() : 0,
      });
      if (row.consecutive_failures === this.threshold) {
        this.options.logger?.warn(
          { provider, cooldown_ms: this.cooldownMs },
          'provider in cooldown',
        );
      }
    } catch (error) {
      this.options.logger?.warn({ err: error, provider }, 'cannot record provider failure');
    }
  }

  async success(provider: ProviderName): Promise<void> {
    const entry = this.state.get(provider);
    if (!entry || (entry.failures === 0 && entry.until === 0)) return;
    this.setLocal(provider, { failures: 0, until: 0 });
    try {
      await recordProviderRecovery(this.db, provider, this.environment);
    } catch (error) {
      this.options.logger?.warn({ err: error, provider }, 'cannot record provider recovery');
    }
  }

  private setLocal(provider: ProviderName, entry: { failures: number; until: number }): void {
    this.state.set(provider, entry);
    this.writtenAt.set(provider, ++this.writes);
  }
}

/** What {@link Cooldown.coolingDown} answers on the usual request, when no provider is cold. */
const NONE_COOLING: ReadonlySet<ProviderName> = new Set();
