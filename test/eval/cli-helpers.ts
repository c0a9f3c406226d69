import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the genloop CLI in-process, as a user would, and captures what it prints. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env: { NODE_ENV: 'test', CI: 'true', ...env },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

/** The argv of `genloop eval run` on `input` with a gates file and a report path. */
export function evalRunArgs(input: string, gates: string, report: string, threads?: string) {
  return [
    'eval',
    'run',
    '--input',
    input,
    '--gates',
    gates,
    '--report',
    report,
    ...(threads === undefined ? [] : ['--threads', threads]),
  ];
}

/** A fresh temporary folder. */
export function temporaryDir(prefix = 'genloop-eval-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes records as JSONL (one JSON object per line, newline-terminated). */
export function writeJsonl(path: string, records: readonly unknown[]): string {
  writeFileSync(path, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  return path;
}

export const SAFE_SITE = {
  title: 'Bakery',
  sections: [
    {
      id: 'hero',
      type: 'hero',
      html: '<section class="bg-white px-6 py-24 text-center"><h1 class="text-4xl font-bold">Fresh bread</h1><a href="#contact" class="mt-6 inline-block rounded-md bg-indigo-600 px-6 py-3 text-white hover:bg-indigo-700">Order</a></section>',
    },
  ],
};

/** `count` good sitecraft records: valid, safe output, no fallback, latency 100 + 10·i ms. */
/** One exported record as the tests write it: the named fields plus whatever a test adds. */
export interface TestRecord {
  id: string;
  output: unknown;
  latency_ms: number | null;
  [field: string]: unknown;
}

export function goodRecords(count: number, overrides: Record<string, unknown> = {}): TestRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `rec-${index}`,
    created_at: new Date(Date.UTC(2026, 1, 15, 10, 0, index)).toISOString(),
    schema_variant: 'sitecraft',
    output: SAFE_SITE,
    publish_conversion: index % 2 === 0,
    fallback_used: false,
    latency_ms: 100 + 10 * index,
    requested_provider: null,
    selected_provider: 'openai',
    route_strategy: 'weighted',
    ...overrides,
  }));
}
