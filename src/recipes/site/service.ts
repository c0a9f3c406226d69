import { z } from 'zod';
import { type BudgetGate, candidateModels } from '../../budgets/gate.ts';
import type { CacheMode } from '../../cache/header.ts';
import type { SemanticIndex } from '../../cache/semantic-index.ts';
import type { Db } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { newId } from '../../lib/uuid.ts';
import { ProviderError } from '../../providers/errors.ts';
import type { ChatRequest, ChatResult, Usage } from '../../providers/types.ts';
import {
  type RouteError,
  RouteError as RouteErrorClass,
  type Router,
} from '../../routing/router.ts';
import type { ProviderConfig, RouteMetadata } from '../../routing/types.ts';
import { telemetryRows } from '../../telemetry/rows.ts';
import type { TelemetryWriter } from '../../telemetry/writer.ts';
import { lookupSiteCache, planSiteCache, type SiteCachePlan, storeSiteAnswer } from './cache.ts';
import { applySitePatch, SITE_PATCH_SCHEMA_NAME, sitePatchSchema } from './patch.ts';
import { siteTemplate } from './prompts.ts';
import type { SiteBrief } from './schema.ts';
import { SITE_SCHEMA_NAME, type Site, siteSchema } from './schema.ts';
import type { CachedResponse } from './sql.ts';

const DEFAULT_MODEL = 'gpt-4o-mini';
/** The output a site may take when the caller has a budget: what its reservation is made for. */
const SITE_MAX_OUTPUT_TOKENS = 4096;
const SITE_JSON_SCHEMA = z.toJSONSchema(siteSchema, { io: 'input' }) as Record<string, unknown>;
const PATCH_JSON_SCHEMA = z.toJSONSchema(sitePatchSchema, { io: 'input' }) as Record<
  string,
  unknown
>;

export interface SiteGeneration {
  site: Site;
  /** Patch mode: the operations that were applied. */
  operations?: unknown[];
  metadata: RouteMetadata;
  usage: Usage;
  /** What the cache did, for the answer's headers; undefined when the request sent no header. */
  cache?: SiteCacheReport | undefined;
}

/** The answer headers of a request that sent `x-genloop-cache`. */
export interface SiteCacheReport {
  status: 'hit' | 'miss' | 'bypass' | 'off';
  /** The lookup's `server-timing` entry. */
  timing?: string | undefined;
  /** Why a request for `semantic` was looked up exactly only. */
  semantic?: 'unavailable' | 'not_applicable' | undefined;
}

export interface GenerateSiteInput {
  brief: SiteBrief;
  requestId: string;
  userId: string;
  simulate?: string | undefined;
  signal?: AbortSignal | undefined;
  /** The `x-genloop-cache` header's mode; undefined when the request sent none. */
  cacheMode?: CacheMode | undefined;
}

/** What the generate-site flow needs from the runtime. */
export interface SiteDependencies {
  router: Router;
  telemetry: TelemetryWriter;
  db: Db;
  logger: Logger;
  /** Identical create briefs within this TTL are answered from `ai_response_cache` (0: off). */
  cacheTtlMs: number;
  environment: string;
  /** Dollar budgets; without it generations are not limited. */
  budgets?: BudgetGate | undefined;
  /** Who shares entries asked for with `x-genloop-cache` (default: each user their own). */
  cacheScope?: 'user' | 'global' | undefined;
  /** The semantic index, for `x-genloop-cache: semantic`. */
  semanticIndex?: SemanticIndex | undefined;
}

/**
 * The site builder's generation: builds the prompt from the provider's template version,
 * routes it, validates the site (or applies the patch), and records one telemetry row with the
 * runtime fields, whatever the outcome. Throws the router's RouteError when nothing served.
 */
export async function generateSite(
  deps: SiteDependencies,
  input: GenerateSiteInput,
): Promise<SiteGeneration> {
  const { brief } = input;
  const patchMode = brief.mode === 'patch';
  const started = performance.now();
  const cachePlan = await planSiteCache(deps, brief, input.userId, input.cacheMode);
  const lookup = await lookupSiteCache(deps, cachePlan, input);
  const report = (status: SiteCacheReport['status']): SiteCacheReport | undefined =>
    input.cacheMode === undefined
      ? undefined
      : {
          status,
          timing: lookup.timing,
          semantic: cachePlan.kind === 'lookup' ? cachePlan.semanticState : undefined,
        };
  const cached = lookup.cached;
  const site = cached ? siteSchema.safeParse(cached.response?.value) : undefined;
  if (cached && site?.success) {
    return { ...servedFromCache(deps, input, cached, site.data, started), cache: report('hit') };
  }
  let patchFailure: string | undefined;
  const telemetryBase = {
    recipe: 'site' as const,
    userId: input.userId,
    prompt: brief.prompt,
    input: brief,
  };
  const reservation = await deps.budgets?.reserve({
    userId: input.userId,
    reservationId: newId(),
    promptBytes: Buffer.byteLength(JSON.stringify(brief)) + SITE_PROMPT_BYTES,
    maxOutputTokens: SITE_MAX_OUTPUT_TOKENS,
    candidates: async () =>
      candidateModels(
        await deps.router.servableConfigs(),
        (config) => config.model ?? DEFAULT_MODEL,
        brief.provider,
      ),
  });
  const cap = reservation ? { max_tokens: reservation.maxOutputTokens } : {};
  try {
    const routed = await deps.router.route({
      requestId: input.requestId,
      requestedProvider: brief.provider,
      simulate: input.simulate,
      signal: input.signal,
      build: (config) => ({ ...buildRequest(brief, config), ...cap }),
      // After a paid answer that failed the schema, the next attempt is reserved for first.
      ...(reservation ? { beforeAttempt: reservation.cover } : {}),
      templateVersion: (config) => siteTemplate(config.promptTemplateVersion).version,
      accept: (result, config) => {
        const outcome = acceptOutput(brief, result, config);
        if (!outcome.ok) {
          if (patchMode) patchFailure = outcome.reason;
          throw new ProviderError({
            provider: config.provider,
            message: outcome.reason,
            errorClass: 'invalid_output',
            retryable: false,
          });
        }
        return outcome;
      },
    });
    const { value, metadata, result, attempts } = routed;
    await reservation?.finish(attempts);
    if (metadata.selectedProvider) {
      void storeSiteAnswer(deps, cachePlan, lookup.embedded, {
        provider: metadata.selectedProvider,
        model: metadata.model,
        response: {
          value: value.site,
          promptTemplateVersion: metadata.promptTemplateVersion,
          routeStrategy: metadata.routeStrategy,
        },
      });
    }
    deps.telemetry.record(
      telemetryRows({
        ...telemetryBase,
        metadata,
        attempts,
        status: 'succeeded',
        output: patchMode ? { site: value.site, operations: value.operations } : value.site,
        usage: result.usage,
        schemaValid: true,
        patchApplySuccess: patchMode ? true : null,
      }),
    );
    return {
      site: value.site,
      ...(patchMode ? { operations: value.operations } : {}),
      metadata,
      usage: result.usage,
      cache: report(statusOf(cachePlan)),
    };
  } catch (error) {
    await reservation?.finish(error instanceof RouteErrorClass ? error.attempts : []);
    if (error instanceof RouteErrorClass && error.attempts.length > 0) {
      recordFailure(deps, telemetryBase, error, patchMode, patchFailure);
    }
    throw error;
  }
}

/** Answers from the cache: no provider call, a telemetry row with source 'generation_cached'. */
function servedFromCache(
  deps: SiteDependencies,
  input: GenerateSiteInput,
  cached: CachedResponse,
  site: Site,
  started: number,
): SiteGeneration {
  const metadata: RouteMetadata = {
    requestId: input.requestId,
    routeStrategy: cached.response.routeStrategy as RouteMetadata['routeStrategy'],
    requestedProvider: input.brief.provider ?? null,
    selectedProvider: cached.provider as RouteMetadata['selectedProvider'],
    fallbackProvider: null,
    fallbackUsed: false,
    latencyMs: Math.max(0, Math.round(performance.now() - started)),
    promptTemplateVersion: cached.response.promptTemplateVersion,
    model: cached.model,
    // No provider was planned or tried: the answer came from the cache.
    plannedProvider: null,
    environment: deps.environment,
  };
  deps.telemetry.record(
    telemetryRows({
      recipe: 'site',
      userId: input.userId,
      prompt: input.brief.prompt,
      input: input.brief,
      source: 'generation_cached',
      metadata,
      attempts: [],
      status: 'succeeded',
      output: site,
      schemaValid: true,
    }),
  );
  return {
    site,
    metadata,
    usage: { inputTokens: undefined, outputTokens: undefined, costUsd: undefined },
  };
}

/** The cache's answer header for a call that was routed. */
function statusOf(plan: SiteCachePlan): SiteCacheReport['status'] {
  if (plan.kind === 'bypass' || plan.kind === 'off') return plan.kind;
  return 'miss';
}

function recordFailure(
  deps: SiteDependencies,
  base: { recipe: 'site'; userId: string; prompt: string; input: SiteBrief },
  error: RouteError,
  patchMode: boolean,
  patchFailure: string | undefined,
): void {
  const invalidOutput = error.lastError?.errorClass === 'invalid_output';
  deps.telemetry.record(
    telemetryRows({
      ...base,
      metadata: error.metadata,
      attempts: error.attempts,
      status: 'failed',
      error: { code: error.code, message: error.message, last: error.lastError?.toJSON() ?? null },
      schemaValid: invalidOutput && !patchMode ? false : null,
      patchApplySuccess: patchMode && patchFailure !== undefined ? false : null,
    }),
  );
}

/** The system prompt and the JSON schema sent with every site request, beside the brief. */
const SITE_PROMPT_BYTES =
  Buffer.byteLength(JSON.stringify(SITE_JSON_SCHEMA)) +
  Buffer.byteLength(JSON.stringify(PATCH_JSON_SCHEMA)) +
  8_192;

function buildRequest(brief: SiteBrief, config: ProviderConfig): ChatRequest {
  const { template } = siteTemplate(config.promptTemplateVersion);
  const patchMode = brief.mode === 'patch' && brief.site !== undefined;
  return {
    model: config.model ?? DEFAULT_MODEL,
    temperature: 0.4,
    messages: [
      { role: 'system', content: template.system },
      {
        role: 'user',
        content: patchMode ? template.patch(brief, brief.site!) : template.create(brief),
      },
    ],
    response_format: {
      type: 'json_schema',
      json_schema: patchMode
        ? { name: SITE_PATCH_SCHEMA_NAME, schema: PATCH_JSON_SCHEMA, strict: false }
        : { name: SITE_SCHEMA_NAME, schema: SITE_JSON_SCHEMA, strict: false },
    },
  };
}

type Accepted = { ok: true; site: Site; operations?: unknown[] } | { ok: false; reason: string };

function acceptOutput(brief: SiteBrief, result: ChatResult, config: ProviderConfig): Accepted {
  let json: unknown;
  try {
    json = JSON.parse(result.content);
  } catch {
    return { ok: false, reason: `${config.provider} returned text that is not JSON` };
  }
  if (brief.mode === 'patch' && brief.site !== undefined) {
    const operations = (json as { operations?: unknown } | null)?.operations;
    const outcome = applySitePatch(brief.site, operations);
    return outcome.ok ? { ok: true, site: outcome.site, operations: outcome.operations } : outcome;
  }
  const parsed = siteSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `site fails the schema at ${issue?.path.join('.') || 'root'}: ${issue?.message}`,
    };
  }
  return { ok: true, site: parsed.data };
}
