/**
 * genloop's typed client for product frontends (the site builder's `aiGeneration.ts`): calls
 * the generation endpoints and hands back the routing metadata to keep in UI state.
 *
 * @example
 * const genloop = createGenloopClient({ baseUrl: 'https://genloop.example.com', token: () => session.access_token });
 * const { site, metadata } = await genloop.generateSite({ prompt: 'A bakery in Hobart' });
 * setSiteMeta(metadata); // requestId, routeStrategy, promptTemplateVersion, selectedProvider, fallbackUsed, latencyMs
 */

export type ProviderName = 'openai' | 'custom' | 'openrouter' | 'replicate';
export type RouteStrategy = 'single_provider' | 'weighted' | 'fallback';

/**
 * The generation metadata of a site response: what the UI persists with a generated site, so
 * every site can be traced back to its request, provider and prompt template.
 */
export interface GenerationMetadata {
  requestId: string;
  routeStrategy: RouteStrategy;
  promptTemplateVersion: string;
  selectedProvider: ProviderName;
  fallbackUsed: boolean;
  latencyMs: number;
}

export interface SiteSection {
  id: string;
  type: string;
  html: string;
}

export interface Site {
  title: string;
  description?: string;
  theme?: { primaryColor: string; font: string };
  sections: SiteSection[];
}

export interface SiteBrief {
  prompt: string;
  provider?: 'openai' | 'custom' | 'openrouter';
  business_name?: string;
  audience?: string;
  tone?: 'friendly' | 'professional' | 'playful' | 'luxury' | 'minimal';
  sections?: string[];
  language?: string;
}

export interface SiteResult {
  site: Site;
  metadata: GenerationMetadata;
}

export interface PatchResult extends SiteResult {
  operations: unknown[];
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ field: string; code: string; message: string }>;
  request_id?: string;
}

/** A failed call: the server's problem document, with its stable `code`. */
export class GenloopError extends Error {
  override readonly name = 'GenloopError';
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.code}: ${problem.detail ?? problem.title}`);
  }

  get code(): string {
    return this.problem.code;
  }
}

export interface GenloopClientOptions {
  baseUrl: string;
  /** The user's Supabase access token, or a function returning it (called per request). */
  token: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
}

export interface GenloopClient {
  generateSite(brief: SiteBrief, options?: { signal?: AbortSignal }): Promise<SiteResult>;
  patchSite(
    site: Site,
    change: string,
    options?: { provider?: SiteBrief['provider']; signal?: AbortSignal },
  ): Promise<PatchResult>;
}

export function createGenloopClient(options: GenloopClientOptions): GenloopClient {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    const response = await fetchImpl(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    const json = text === '' ? {} : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const problem = isProblem(json)
        ? json
        : {
            type: 'about:blank',
            title: response.statusText,
            status: response.status,
            code: 'http_error',
          };
      throw new GenloopError(response.status, problem);
    }
    return json as T;
  }

  type SiteResponse = GenerationMetadata & { site: Site; operations?: unknown[] };
  const split = (response: SiteResponse): SiteResult => ({
    site: response.site,
    metadata: {
      requestId: response.requestId,
      routeStrategy: response.routeStrategy,
      promptTemplateVersion: response.promptTemplateVersion,
      selectedProvider: response.selectedProvider,
      fallbackUsed: response.fallbackUsed,
      latencyMs: response.latencyMs,
    },
  });

  return {
    async generateSite(brief, callOptions = {}) {
      return split(
        await post<SiteResponse>('/functions/v1/generate-site', brief, callOptions.signal),
      );
    },
    async patchSite(site, change, callOptions = {}) {
      const response = await post<SiteResponse>(
        '/functions/v1/generate-site',
        {
          mode: 'patch',
          prompt: change,
          site,
          ...(callOptions.provider ? { provider: callOptions.provider } : {}),
        },
        callOptions.signal,
      );
      return { ...split(response), operations: response.operations ?? [] };
    },
  };
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value;
}
