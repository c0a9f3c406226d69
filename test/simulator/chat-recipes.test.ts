import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  FLASHCARDS_SCHEMA_NAME,
  flashcardsOutputSchema,
} from '../../src/recipes/flashcards/schema.ts';
import { applySitePatch, SITE_PATCH_SCHEMA_NAME } from '../../src/recipes/site/patch.ts';
import { SITE_SCHEMA_NAME, siteSchema } from '../../src/recipes/site/schema.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

let simulator: Simulator;
let openai: OpenAI;

beforeAll(async () => {
  simulator = await startSimulator();
  openai = new OpenAI({ apiKey: 'sim', baseURL: simulator.baseUrls.openai, maxRetries: 0 });
});
afterAll(() => simulator.close());

const siteFormat = {
  type: 'json_schema' as const,
  json_schema: {
    name: SITE_SCHEMA_NAME,
    schema: z.toJSONSchema(siteSchema, { io: 'input' }),
    strict: false,
  },
};
const siteBrief = [
  'Create a website for this brief.',
  '<brief>\nA family bakery in Fremantle baking sourdough, croissants and birthday cakes every morning.\n</brief>',
  'Business name: Crumb & Co',
  'Sections, in this order: hero, services, testimonials, contact, footer',
].join('\n');

async function content(
  request: Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'model'>,
  simulate?: string,
) {
  const data = await openai.chat.completions.create(
    { model: 'gpt-4o-mini', ...request },
    simulate ? { headers: { 'x-genloop-simulate': simulate } } : {},
  );
  return data.choices[0]?.message.content ?? '';
}

describe('recipe outputs', () => {
  it('site: valid against siteSchema, derived from the brief, deterministic', async () => {
    const request = {
      messages: [{ role: 'user' as const, content: siteBrief }],
      response_format: siteFormat,
    };
    const first = await content(request);
    const site = siteSchema.parse(JSON.parse(first));
    expect(site.title).toBe('Crumb & Co');
    expect(site.sections.map((section) => section.type)).toEqual([
      'hero',
      'services',
      'testimonials',
      'contact',
      'footer',
    ]);
    expect(site.sections[0]?.html).toContain('Crumb &amp; Co');
    expect(site.sections[0]?.html).toMatch(/class="[^"]*\b(px|py|text|bg)-/);
    expect(JSON.stringify(site).toLowerCase()).toContain('sourdough');
    expect(first).not.toMatch(/<script|onclick=|javascript:/i);
    expect(await content(request)).toBe(first);
  });

  it('site: a different brief gives a different site', async () => {
    const one = await content({
      messages: [{ role: 'user', content: 'Yoga studio in Hobart' }],
      response_format: siteFormat,
    });
    const two = await content({
      messages: [{ role: 'user', content: 'Plumbing repairs in Perth' }],
      response_format: siteFormat,
    });
    expect(siteSchema.parse(JSON.parse(one)).title).not.toBe(
      siteSchema.parse(JSON.parse(two)).title,
    );
  });

  it('site patch: a JSON Patch that applies to the site in the prompt', async () => {
    const site = siteSchema.parse(
      JSON.parse(
        await content({
          messages: [{ role: 'user', content: siteBrief }],
          response_format: siteFormat,
        }),
      ),
    );
    const prompt = `Change the website below.\n<request>\nMention gluten-free loaves\n</request>\n<site>\n${JSON.stringify(site)}\n</site>`;
    const patch = JSON.parse(
      await content({
        messages: [{ role: 'user', content: prompt }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: SITE_PATCH_SCHEMA_NAME, schema: {} },
        },
      }),
    );
    const outcome = applySitePatch(site, patch.operations);
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.site.sections[0]?.html.toLowerCase()).toContain('gluten');
  });

  it('flashcards: valid against flashcardsOutputSchema, one card per sentence', async () => {
    const notes =
      'The mitochondria is the powerhouse of the cell. Photosynthesis converts sunlight into chemical energy. ' +
      'Ribosomes assemble proteins from amino acids. The nucleus stores genetic information.';
    const text = await content({
      messages: [
        { role: 'user', content: `Make flashcards from these notes.\n<notes>\n${notes}\n</notes>` },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: FLASHCARDS_SCHEMA_NAME, schema: {} },
      },
    });
    const { cards } = flashcardsOutputSchema.parse(JSON.parse(text));
    expect(cards).toHaveLength(4);
    expect(cards[0]).toEqual({
      front: 'Fill in the blank: The _____ is the powerhouse of the cell.',
      back: 'mitochondria',
    });
  });

  it('flashcards: a short note still gives at least three cards', async () => {
    const text = await content({
      messages: [{ role: 'user', content: 'Kangaroos hop. Wombats dig burrows underground.' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: FLASHCARDS_SCHEMA_NAME, schema: {} },
      },
    });
    const { cards } = flashcardsOutputSchema.parse(JSON.parse(text));
    expect(cards.length).toBeGreaterThanOrEqual(3);
    expect(cards.length).toBeLessThanOrEqual(10);
  });

  it('json_object: a JSON object about the user words', async () => {
    const text = await content({
      messages: [{ role: 'user', content: 'Summarise the history of espresso machines' }],
      response_format: { type: 'json_object' },
    });
    const value = JSON.parse(text);
    expect(value.keywords).toContain('espresso');
    expect(typeof value.answer).toBe('string');
  });

  it('any other json_schema: an instance of that schema', async () => {
    const schema = z
      .object({
        city: z.string(),
        rating: z.number().int().min(1).max(5),
        tags: z.array(z.string()).min(2),
        open: z.boolean(),
      })
      .strict();
    const text = await content({
      messages: [{ role: 'user', content: 'Review the cafes of Adelaide' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'review', schema: z.toJSONSchema(schema) },
      },
    });
    expect(schema.safeParse(JSON.parse(text)).success).toBe(true);
  });

  it('invalid-json: the content does not parse', async () => {
    const text = await content(
      { messages: [{ role: 'user', content: siteBrief }], response_format: siteFormat },
      'openai=invalid-json',
    );
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('wrong-schema: valid JSON that fails the recipe schema', async () => {
    const text = await content(
      { messages: [{ role: 'user', content: siteBrief }], response_format: siteFormat },
      'openai=wrong-schema',
    );
    expect(siteSchema.safeParse(JSON.parse(text)).success).toBe(false);
  });

  it('unsafe-html: schema-valid site whose HTML has script, onclick= and javascript: URLs', async () => {
    const text = await content(
      { messages: [{ role: 'user', content: siteBrief }], response_format: siteFormat },
      'openai=unsafe-html',
    );
    const site = siteSchema.parse(JSON.parse(text));
    const html = site.sections.map((section) => section.html).join('');
    expect(html).toContain('<script>');
    expect(html).toContain('onclick=');
    expect(html).toContain('javascript:');
  });
});
