import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { BenchDatabase } from './database.ts';
import { type Child, startChild } from './processes.ts';

/** The chat completion every gateway benchmark sends, byte for byte. */
export const GATEWAY_REQUEST_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a concise assistant.' },
    { role: 'user', content: 'Say hello in one short sentence.' },
  ],
  temperature: 0.2,
  max_tokens: 64,
});

/** A study note of ~1,500 characters: the simulator turns each sentence into a cloze card. */
export const SOURCE_TEXT = [
  'Photosynthesis converts light energy into chemical energy stored in glucose.',
  'Chlorophyll absorbs mostly blue and red light and reflects green light.',
  'The light-dependent reactions take place in the thylakoid membranes of the chloroplast.',
  'Water molecules are split during these reactions, releasing oxygen as a by-product.',
  'The Calvin cycle fixes carbon dioxide into three-carbon sugars in the stroma.',
  'Rubisco is the enzyme that catalyses the first step of carbon fixation.',
  'ATP and NADPH produced by the light reactions power the Calvin cycle.',
  'C4 plants concentrate carbon dioxide to reduce photorespiration in hot climates.',
  'CAM plants open their stomata at night to conserve water in deserts.',
  'The overall equation combines six carbon dioxide and six water into glucose and oxygen.',
  'Light intensity, temperature and carbon dioxide concentration limit the rate of photosynthesis.',
  'Autotrophs make their own food, while heterotrophs depend on other organisms for energy.',
  'Cellular respiration releases the energy stored in glucose back as ATP.',
  'Mitochondria and chloroplasts both contain their own circular DNA.',
  'The endosymbiotic theory explains the origin of these organelles from free-living bacteria.',
  'Stomata regulate gas exchange and water loss through the leaf surface.',
  'Guard cells swell or shrink to open and close each stoma.',
  'Accessory pigments such as carotenoids widen the range of absorbed wavelengths.',
].join(' ');

/**
 * The Node flags docs/deploy.md recommends for `genloop serve` processes, which benchmarks start
 * genloop with unless told otherwise: a young generation large enough for a request's or a
 * job's short-lived objects. (`genloop serve` keeps its compiled code through quiet spells by
 * itself.)
 */
export const RECOMMENDED_NODE_OPTIONS = '--max-semi-space-size=64';

/** How `genloop serve` announces itself once it listens and has planned its providers. */
const READY = /genloop listening on (http:\/\/\S+)[\s\S]*?providers: [^\n]+\n/;

/**
 * Starts `genloop serve --role <role> --no-migrate` on an ephemeral port with `env` on top of
 * this process's environment (production mode, warnings only); resolves with the child and its
 * base URL once it is ready. Benchmarks and the cluster test migrate their database themselves.
 */
export async function startGenloop(options: {
  name: string;
  role: 'api' | 'worker' | 'all';
  env: Record<string, string>;
  /** Node flags before the script, e.g. a CPU profile or `--max-semi-space-size=64`. */
  nodeFlags?: readonly string[];
  timeoutMs?: number;
  /** The checkout to run (default: this one). */
  cwd?: string;
}): Promise<{ child: Child; url: string }> {
  const { child, match } = await startChild({
    name: options.name,
    command: process.execPath,
    args: [
      ...(options.nodeFlags ?? []),
      'bin/genloop.js',
      'serve',
      '--role',
      options.role,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-migrate',
    ],
    env: { ...process.env, NODE_ENV: 'production', GENLOOP_LOG_LEVEL: 'warn', ...options.env },
    ready: READY,
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { child, url: match[1]! };
}

/** Starts `genloop simulator` on an ephemeral port; resolves with the child and its base URL. */
export async function startSimulator(
  options: { name?: string; latency?: string } = {},
): Promise<{ child: Child; url: string }> {
  const { child, match } = await startChild({
    name: options.name ?? 'simulator',
    command: process.execPath,
    args: [
      'bin/genloop.js',
      'simulator',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...(options.latency ? ['--latency', options.latency] : []),
    ],
    env: { ...process.env, NODE_ENV: 'production' },
    ready: /genloop simulator listening on (http:\/\/\S+)/,
  });
  return { child, url: match[1]! };
}

/**
 * Provider settings that send openai and custom calls to a separate simulator, as a real API
 * would be called (openrouter has no key, so it is left out and the environment default serves).
 */
export function simulatorProviderEnv(simulatorUrl: string): Record<string, string> {
  return {
    GENLOOP_SIMULATOR: 'off',
    OPENAI_API_KEY: 'sk-bench-simulator',
    OPENAI_BASE_URL: `${simulatorUrl}/openai/v1`,
    CUSTOM_PROVIDER_API_KEY: 'sk-bench-simulator',
    CUSTOM_PROVIDER_BASE_URL: `${simulatorUrl}/custom/v1`,
  };
}

/** `count` user tokens (HS256, role authenticated, a fresh uuid each) valid for two hours. */
export async function userTokens(jwtSecret: string, count: number): Promise<string[]> {
  const key = new TextEncoder().encode(jwtSecret);
  return Promise.all(
    Array.from({ length: count }, () =>
      new SignJWT({ role: 'authenticated' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(randomUUID())
        .setAudience('authenticated')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(key),
    ),
  );
}

/**
 * genloop (`serve --role api`) on `database` in front of a separate zero-latency simulator, with
 * only the default route (openai, then custom) enabled and one API key: the stack the cache
 * benchmarks send chat completions to.
 */
export async function startGatewayOnSimulator(database: BenchDatabase): Promise<{
  genloop: { child: Child; url: string };
  simulator: { child: Child; url: string };
  apiKey: string;
}> {
  await database.db.query(
    `update public.ai_provider_configs set enabled = provider in ('openai', 'custom')
      where environment = 'prod'`,
  );
  const simulator = await startSimulator();
  const apiKey = `bench-${randomBytes(24).toString('hex')}`;
  const genloop = await startGenloop({
    name: 'genloop',
    role: 'api',
    env: {
      ...simulatorProviderEnv(simulator.url),
      DATABASE_URL: database.url,
      GENLOOP_JWT_SECRET: randomBytes(32).toString('hex'),
      GENLOOP_API_KEYS: apiKey,
      OPENROUTER_API_KEY: '',
      REPLICATE_API_TOKEN: '',
    },
  });
  return { genloop, simulator, apiKey };
}
