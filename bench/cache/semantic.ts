/**
 * Semantic-cache benchmark, on real Postgres with pgvector:
 *
 * 1. lookup: fills `ai_semantic_cache` with --entries answers (default 100 000) and times
 *    genloop's own nearest-answer lookup (`selectNearestAnswer`: the transaction, the iterative
 *    HNSW scan, the row) from this process, for paraphrases of stored requests and for new ones,
 *    in two layouts of the same number of entries:
 *      one-scope   every entry in one scope and context (GENLOOP_CACHE_SCOPE=global, one model):
 *                  the index walks the whole table
 *      per-user    the entries spread over --users scopes (the default scope is the user), a
 *                  lookup searches one user's entries among all the others
 *    and checks the index against an exact scan (recall@1: the same nearest entry).
 * 2. workload: genloop (`serve --role api`) in front of the zero-latency simulator, whose
 *    embeddings put paraphrases near each other, takes a stream of requests with
 *    `x-genloop-cache: semantic`: new questions, exact repeats, paraphrases of earlier ones and
 *    "related" ones (the same request about a slightly different topic, which must not be
 *    answered from the cache). Reports the hit rate of each kind, the distances, and the lookup's
 *    time as genloop reports it in `server-timing` (the embedding call included).
 *
 * Prints tables, writes JSON under bench/results/ (cache-semantic-<date>.json).
 *
 *   npm run bench:cache:semantic -- [--entries 100000] [--users 1000] [--lookups 1000]
 *                                   [--requests 1200] [--concurrency 1]
 *                                   [--database-url URL] [--output bench/results]
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { quoteIdent } from '../../src/db/ident.ts';
import type { Db } from '../../src/db/types.ts';
import { embedText } from '../../src/simulator/embeddings/vectors.ts';
import {
  enableSemanticCache,
  SEMANTIC_DIMENSIONS,
  type SemanticCacheSql,
  selectNearestAnswer,
  semanticCacheSchema,
  semanticCacheSql,
  vectorLiteral,
} from '../../src/sql/semantic-cache.ts';
import { createBenchDatabase, DEFAULT_DATABASE_URL, serverInfo } from '../lib/database.ts';
import { startGatewayOnSimulator } from '../lib/genloop.ts';
import { positiveInteger } from '../lib/options.ts';
import { stopAll } from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { percentile, round } from '../lib/stats.ts';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '100000' },
      users: { type: 'string', default: '1000' },
      lookups: { type: 'string', default: '1000' },
      requests: { type: 'string', default: '1200' },
      concurrency: { type: 'string', default: '1' },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_semantic' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const options = {
    entries: positiveInteger('entries', values.entries),
    users: positiveInteger('users', values.users),
    lookups: positiveInteger('lookups', values.lookups),
    requests: positiveInteger('requests', values.requests),
    concurrency: positiveInteger('concurrency', values.concurrency),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    database: values.database,
    output: values.output,
  };
  if (options.users > options.entries) throw new Error('--users cannot exceed --entries');
  return options;
}

// --- requests people send, and how they reword them -------------------------------------------

/**
 * Each intent in four wordings as users write them. The first is the one stored; the others are
 * its paraphrases. Some are near enough for the default distance and some are not: the hit rate
 * on paraphrases is what this wording variety gives, not 100 % by construction.
 */
const INTENTS: readonly (readonly string[])[] = [
  [
    'Make flashcards about {t}',
    'Create flash cards on {t}',
    'Please generate a flashcard deck about {t}',
    'Turn my notes about {t} into study cards',
  ],
  [
    'Build a website for a {t} shop',
    'Create a web site for a {t} shop',
    'Please make a landing page for a {t} shop',
    'I need a home page for my {t} shop',
  ],
  [
    'Redesign my living room in a {t} style',
    'Redesign my lounge in a {t} style!',
    'Give my sitting room a {t} look',
    'Make my living room {t} style',
  ],
  [
    'Explain {t} in simple terms',
    'Describe {t} in simple words',
    'Can you explain {t} simply?',
    'Explain {t} to a beginner',
  ],
  [
    'Summarize the history of {t}',
    'Give me a summary of the history of {t}',
    'Write an overview of the history of {t}',
    'Recap the history of {t}',
  ],
];

const TOPIC_WORDS = (
  'harbor lantern physics medieval spice trade volcano ocean chemistry glacier orchard violin ' +
  'comet desert falcon granite meadow prism quartz reef saffron tundra walnut zenith amber ' +
  'basalt canyon dune ember fjord geyser hazel iris jasmine kelp lagoon marble nectar opal ' +
  'pepper quill raven sequoia tidal umber velvet willow yarrow zephyr alpine bamboo cedar ' +
  'delta eclipse fern grove harvest island juniper kiln lichen mosaic nebula oasis pebble ' +
  'quarry river savanna thistle upland valley wharf yucca atlas beacon cobalt dawn estuary ' +
  'forge gallery horizon ivory jungle kettle lighthouse mango nomad obsidian pagoda quiver ' +
  'rampart summit temple urchin vineyard wildfire acorn bison crater drizzle emerald foxglove'
).split(' ');

interface Request {
  intent: number;
  topic: string[];
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

function newRequest(): Request {
  const topic = new Set<string>();
  while (topic.size < 3) topic.add(pick(TOPIC_WORDS));
  return { intent: Math.floor(Math.random() * INTENTS.length), topic: [...topic] };
}

/** The same request about a topic that differs in one word: a different question. */
function related(request: Request): Request {
  const topic = [...request.topic];
  let word = pick(TOPIC_WORDS);
  while (topic.includes(word)) word = pick(TOPIC_WORDS);
  topic[Math.floor(Math.random() * topic.length)] = word;
  return { intent: request.intent, topic };
}

function wording(request: Request, variant: number): string {
  return INTENTS[request.intent]![variant]!.replace('{t}', request.topic.join(' '));
}

// --- 1. the lookup over a full table ------------------------------------------------------------

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CONTEXT_HASH = sha256('bench: one model, one set of parameters');

interface Layout {
  name: 'one-scope' | 'per-user';
  scopes: number;
}

/**
 * Fills the table with `entries` answers spread evenly over `scopes` scopes, all in one context.
 * The HNSW index is dropped for the fill and built again after it with its own definition (as a
 * restore would), which is far faster than growing it row by row.
 */
async function fill(
  db: Db,
  sql: SemanticCacheSql,
  entries: number,
  scopes: number,
): Promise<{ stored: Request[][]; fillS: number; indexBuildS: number }> {
  const started = performance.now();
  const { rows: index } = await db.query<{ definition: string }>(
    `select pg_get_indexdef('public.ai_semantic_cache_embedding_idx'::regclass) as definition`,
  );
  await db.query('truncate public.ai_semantic_cache');
  await db.query('drop index public.ai_semantic_cache_embedding_idx');
  const stored: Request[][] = Array.from({ length: scopes }, () => []);
  const response = JSON.stringify({
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: 'A cached answer.' } }],
  });
  const batch = 2_000;
  for (let offset = 0; offset < entries; offset += batch) {
    const scopeNames: string[] = [];
    const hashes: string[] = [];
    const vectors: string[] = [];
    for (let index = offset; index < Math.min(entries, offset + batch); index++) {
      const scope = index % scopes;
      const request = newRequest();
      stored[scope]!.push(request);
      const text = wording(request, 0);
      scopeNames.push(`bench-scope-${scope}`);
      hashes.push(sha256(`${scope}\n${text}\n${index}`));
      vectors.push(vectorLiteral(embedText(text, SEMANTIC_DIMENSIONS)));
    }
    await db.query(
      `insert into public.ai_semantic_cache
         (scope, context_hash, request_hash, embedding, provider, model, response, expires_at)
       select scope, $4, hash, vector::${quoteIdent(sql.schema)}.vector,
              'openai', 'gpt-4o-mini', $5::jsonb, now() + interval '1 day'
         from unnest($1::text[], $2::text[], $3::text[]) as t(scope, hash, vector)`,
      [scopeNames, hashes, vectors, CONTEXT_HASH, response],
    );
  }
  const filled = performance.now();
  await db.transaction(async (tx) => {
    await tx.query(`set local maintenance_work_mem = '512MB'`);
    await tx.query(index[0]!.definition);
  });
  await db.query('analyze public.ai_semantic_cache');
  return {
    stored,
    fillS: round((filled - started) / 1000, 1),
    indexBuildS: round((performance.now() - filled) / 1000, 1),
  };
}

/** The exact nearest entry (a full scan and sort), to check the index's answer against. */
async function exactNearest(
  db: Db,
  sql: SemanticCacheSql,
  scope: string,
  vector: number[],
): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('set local enable_indexscan = off');
    await tx.query('set local enable_bitmapscan = off');
    const { rows } = await tx.query<{ distance: number }>(sql.nearest, [
      scope,
      CONTEXT_HASH,
      vectorLiteral(vector),
    ]);
    return rows[0] === undefined ? undefined : Number(rows[0].distance);
  });
}

interface LookupRow {
  layout: Layout['name'];
  kind: 'paraphrase' | 'new';
  lookups: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of sampled lookups whose answer is at the exact nearest distance. */
  recallAt1: number;
  within010: number;
  plan: string;
}

async function measureLookups(
  db: Db,
  sql: SemanticCacheSql,
  layout: Layout,
  stored: Request[][],
  lookups: number,
): Promise<LookupRow[]> {
  const rows: LookupRow[] = [];
  for (const kind of ['paraphrase', 'new'] as const) {
    const times: number[] = [];
    let checked = 0;
    let recalled = 0;
    let within = 0;
    let plan = '';
    for (let index = 0; index < lookups; index++) {
      const scopeIndex = Math.floor(Math.random() * stored.length);
      const scope = `bench-scope-${scopeIndex}`;
      const text =
        kind === 'paraphrase'
          ? wording(pick(stored[scopeIndex]!), 1 + Math.floor(Math.random() * 3))
          : wording(newRequest(), Math.floor(Math.random() * 4));
      const vector = embedText(text, SEMANTIC_DIMENSIONS);
      const started = performance.now();
      const found = await selectNearestAnswer(db, sql, {
        scope,
        contextHash: CONTEXT_HASH,
        embedding: vector,
      });
      times.push(performance.now() - started);
      if (found && Number(found.distance) <= 0.1) within++;
      if (index === 0) plan = await planOf(db, sql, scope, vector);
      // Every tenth lookup is checked against a full scan (which is slow: it reads every row).
      if (index % 10 === 0) {
        checked++;
        const exact = await exactNearest(db, sql, scope, vector);
        const got = found === undefined ? undefined : Number(found.distance);
        if (exact === got || (exact !== undefined && got !== undefined && got - exact < 1e-6)) {
          recalled++;
        }
      }
    }
    times.sort((a, b) => a - b);
    rows.push({
      layout: layout.name,
      kind,
      lookups,
      p50Ms: round(percentile(times, 0.5, true), 3),
      p90Ms: round(percentile(times, 0.9, true), 3),
      p99Ms: round(percentile(times, 0.99, true), 3),
      maxMs: round(times.at(-1) ?? 0, 3),
      recallAt1: round(recalled / checked, 3),
      within010: round(within / lookups, 3),
      plan,
    });
  }
  return rows;
}

/** Which index the lookup's plan uses (the planner's choice differs between the layouts). */
async function planOf(
  db: Db,
  sql: SemanticCacheSql,
  scope: string,
  vector: number[],
): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('hnsw.iterative_scan', 'strict_order', true)`);
    const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`explain ${sql.nearest}`, [
      scope,
      CONTEXT_HASH,
      vectorLiteral(vector),
    ]);
    const lines = rows.map((row) => row['QUERY PLAN']);
    const scan = lines.find((line) => /Scan/.test(line)) ?? lines[0] ?? '';
    return scan.replace(/^[\s>-]+/, '').replace(/\s+\(cost.*$/, '');
  });
}

// --- 2. the gateway under a workload of repeats and paraphrases ---------------------------------

type Kind = 'new' | 'repeat' | 'paraphrase' | 'related';
const MIX: ReadonlyArray<readonly [Kind, number]> = [
  ['new', 0.4],
  ['repeat', 0.2],
  ['paraphrase', 0.3],
  ['related', 0.1],
];

interface Outcome {
  kind: Kind;
  cache: string;
  desc: string;
  distance: number | undefined;
  lookupMs: number | undefined;
  gatewayMs: number | undefined;
}

async function workload(
  url: string,
  apiKey: string,
  requests: number,
  concurrency: number,
): Promise<Outcome[]> {
  /** New requests answered at least a second ago: their answers are stored by now. */
  const settled: Request[] = [];
  const pending: Array<{ request: Request; at: number }> = [];
  const outcomes: Outcome[] = [];
  let sent = 0;
  const chooseKind = (): Kind => {
    if (settled.length === 0) return 'new';
    let roll = Math.random();
    for (const [kind, share] of MIX) {
      roll -= share;
      if (roll < 0) return kind;
    }
    return 'new';
  };
  const worker = async () => {
    while (sent < requests) {
      sent++;
      const now = Date.now();
      while (pending.length > 0 && now - pending[0]!.at > 1_000) {
        settled.push(pending.shift()!.request);
      }
      const kind = chooseKind();
      let request: Request;
      let text: string;
      if (kind === 'new') {
        request = newRequest();
        text = wording(request, 0);
      } else {
        const earlier = pick(settled);
        request = kind === 'related' ? related(earlier) : earlier;
        text =
          kind === 'paraphrase'
            ? wording(earlier, 1 + Math.floor(Math.random() * 3))
            : wording(request, 0);
      }
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${apiKey}`,
          'x-genloop-cache': 'semantic',
        },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'system', content: 'You are a concise assistant.' },
            { role: 'user', content: text },
          ],
          temperature: 0.2,
          max_tokens: 64,
        }),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`genloop answered ${response.status}`);
      const timing = response.headers.get('server-timing') ?? '';
      const cacheTiming = /cache;(?:desc="(\w+)";)?(?:dist=([\d.]+);)?dur=([\d.]+)/.exec(timing);
      const gateway = /gateway;dur=([\d.]+)/.exec(timing)?.[1];
      outcomes.push({
        kind,
        cache: response.headers.get('x-genloop-cache') ?? 'none',
        desc: cacheTiming?.[1] ?? 'none',
        distance: cacheTiming?.[2] === undefined ? undefined : Number(cacheTiming[2]),
        lookupMs: cacheTiming?.[3] === undefined ? undefined : Number(cacheTiming[3]),
        gatewayMs: gateway === undefined ? undefined : Number(gateway),
      });
      if (kind === 'new') pending.push({ request, at: Date.now() });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

function summariseWorkload(outcomes: Outcome[]) {
  const ms = (values: Array<number | undefined>) => {
    const sorted = values.filter((value) => value !== undefined).sort((a, b) => a - b);
    return sorted.length === 0
      ? { p50: null, p99: null }
      : {
          p50: round(percentile(sorted, 0.5, true), 3),
          p99: round(percentile(sorted, 0.99, true), 3),
        };
  };
  const kinds = MIX.map(([kind]) => {
    const of = outcomes.filter((outcome) => outcome.kind === kind);
    const count = (desc: string) => of.filter((outcome) => outcome.desc === desc).length;
    const hits = of.filter((outcome) => outcome.cache === 'hit').length;
    return {
      kind,
      requests: of.length,
      exactHits: count('exact'),
      semanticHits: count('semantic'),
      misses: count('miss'),
      hitRate: of.length === 0 ? null : round(hits / of.length, 3),
      distanceP50: ms(of.map((outcome) => outcome.distance)).p50,
      lookupMs: ms(of.map((outcome) => outcome.lookupMs)),
    };
  });
  const hits = outcomes.filter((outcome) => outcome.cache === 'hit').length;
  const semanticMisses = outcomes.filter((outcome) => outcome.desc === 'miss');
  const semanticHits = outcomes.filter((outcome) => outcome.desc === 'semantic');
  return {
    requests: outcomes.length,
    hitRate: round(hits / outcomes.length, 3),
    kinds,
    lookupMsOnSemanticHit: ms(semanticHits.map((outcome) => outcome.lookupMs)),
    lookupMsOnMiss: ms(semanticMisses.map((outcome) => outcome.lookupMs)),
    gatewayMsOnMiss: ms(semanticMisses.map((outcome) => outcome.gatewayMs)),
  };
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const speedAtStart = speedProbeMs();
  const options = parseOptions();
  log(
    `bench:cache:semantic: ${options.entries} entries, ${options.lookups} lookups per kind and layout, ${options.requests} gateway requests`,
  );
  const database = await createBenchDatabase(options.serverUrl, options.database);
  try {
    const server = await serverInfo(database.db);
    if (!(await enableSemanticCache(database.db))) {
      throw new Error(
        'pgvector is not installed on this Postgres: run scripts/install-pgvector.sh (as root) first',
      );
    }
    const schema = await semanticCacheSchema(database.db);
    const sql = semanticCacheSql(schema!);
    const { rows: version } = await database.db.query<{ v: string }>(
      `select extversion as v from pg_extension where extname = 'vector'`,
    );

    const layouts: Layout[] = [
      { name: 'one-scope', scopes: 1 },
      { name: 'per-user', scopes: options.users },
    ];
    const fills: Record<string, { fillS: number; indexBuildS: number }> = {};
    const lookupRows: LookupRow[] = [];
    for (const layout of layouts) {
      log(`${layout.name}: filling ${options.entries} entries over ${layout.scopes} scope(s)`);
      const { stored, ...timings } = await fill(database.db, sql, options.entries, layout.scopes);
      fills[layout.name] = timings;
      log(`  filled in ${timings.fillS} s, index built in ${timings.indexBuildS} s; measuring`);
      // A few lookups first, so the index is in shared buffers as on a serving database.
      await measureLookups(database.db, sql, layout, stored, 50);
      lookupRows.push(...(await measureLookups(database.db, sql, layout, stored, options.lookups)));
    }

    log(`workload: ${options.requests} requests through genloop, ${options.concurrency} at a time`);
    const { genloop, apiKey } = await startGatewayOnSimulator(database);
    const outcomes = await workload(
      `${genloop.url}/v1/chat/completions`,
      apiKey,
      options.requests,
      options.concurrency,
    );
    const gateway = summariseWorkload(outcomes);
    const { rows: count } = await database.db.query<{ n: number }>(
      'select count(*)::int as n from public.ai_semantic_cache',
    );

    process.stdout.write(
      `\nsemantic lookup (genloop's selectNearestAnswer from this process: one transaction), ${options.entries} entries, pgvector ${version[0]?.v}\n`,
    );
    process.stdout.write(
      `${formatTable(
        lookupRows.map((row) => ({
          layout: row.layout,
          lookups: row.kind,
          'p50 ms': row.p50Ms,
          'p90 ms': row.p90Ms,
          'p99 ms': row.p99Ms,
          'max ms': row.maxMs,
          'recall@1': row.recallAt1,
          'within 0.1': row.within010,
          plan: row.plan,
        })),
      )}\n`,
    );
    process.stdout.write(
      `fill: ${layouts.map((layout) => `${layout.name} ${fills[layout.name]!.fillS} s + index ${fills[layout.name]!.indexBuildS} s`).join(', ')}\n`,
    );
    process.stdout.write(
      `\ngateway workload with x-genloop-cache: semantic (${gateway.requests} requests, ${count[0]!.n} entries in the table at the end); overall hit rate ${gateway.hitRate}\n`,
    );
    process.stdout.write(
      `${formatTable(
        gateway.kinds.map((row) => ({
          kind: row.kind,
          requests: row.requests,
          'exact hits': row.exactHits,
          'semantic hits': row.semanticHits,
          misses: row.misses,
          'hit rate': row.hitRate ?? '',
          'distance p50': row.distanceP50 ?? '',
          'lookup p50 ms': row.lookupMs.p50 ?? '',
          'lookup p99 ms': row.lookupMs.p99 ?? '',
        })),
      )}\n`,
    );
    process.stdout.write(
      `semantic lookup in genloop (embedding call + query), p50/p99: on a semantic hit ${gateway.lookupMsOnSemanticHit.p50}/${gateway.lookupMsOnSemanticHit.p99} ms, on a miss ${gateway.lookupMsOnMiss.p50}/${gateway.lookupMsOnMiss.p99} ms; genloop's own time on a miss ${gateway.gatewayMsOnMiss.p50}/${gateway.gatewayMsOnMiss.p99} ms\n`,
    );
    const file = writeResult(options.output, 'cache-semantic', {
      benchmark: 'cache-semantic',
      at: new Date().toISOString(),
      machine: machineInfo(),
      speedProbeMs: { start: speedAtStart, end: speedProbeMs() },
      postgres: server,
      pgvector: version[0]?.v ?? null,
      options: { ...options, serverUrl: undefined },
      fills,
      lookups: lookupRows,
      gateway,
    });
    log(`wrote ${file}`);
  } finally {
    await stopAll();
    await database.drop();
  }
}

main().catch(async (error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  await stopAll().catch(() => {});
  process.exit(1);
});
