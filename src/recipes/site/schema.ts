import { z } from '@hono/zod-openapi';

/** Kinds of section the site builder knows how to lay out and edit. */
export const SECTION_TYPES = [
  'hero',
  'features',
  'about',
  'services',
  'pricing',
  'testimonials',
  'gallery',
  'faq',
  'contact',
  'cta',
  'footer',
  'custom',
] as const;

/** One section of a generated site: a fragment of HTML styled with Tailwind utility classes. */
export const siteSectionSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,63}$/, 'section ids are lower-case slugs')
      .describe('Stable slug, used by JSON Patch paths and the editor'),
    type: z.enum(SECTION_TYPES),
    html: z.string().min(1).max(50_000),
  })
  .strict();

/**
 * The site the generate-site recipe returns (output of `POST /functions/v1/generate-site`), and
 * the `sitecraft` schema variant of `genloop eval`.
 */
export const siteSchema = z
  .object({
    title: z.string().min(1).max(200),
    description: z.string().max(1_000).optional(),
    theme: z
      .object({
        primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/),
        font: z.string().min(1).max(100),
      })
      .strict()
      .optional(),
    sections: z.array(siteSectionSchema).min(1).max(30),
  })
  .strict()
  .superRefine((site, context) => {
    const seen = new Set<string>();
    site.sections.forEach((section, index) => {
      if (seen.has(section.id)) {
        context.addIssue({
          code: 'custom',
          path: ['sections', index, 'id'],
          message: `duplicate section id ${section.id}`,
        });
      }
      seen.add(section.id);
    });
  });

export type Site = z.infer<typeof siteSchema>;
export type SiteSection = z.infer<typeof siteSectionSchema>;

/** The name genloop gives this schema in `response_format.json_schema` requests. */
export const SITE_SCHEMA_NAME = 'genloop_site';

/** Text providers a site brief may ask for. */
export const SITE_PROVIDERS = ['openai', 'custom', 'openrouter'] as const;

/** The body of `POST /functions/v1/generate-site`. */
export const siteBriefSchema = z
  .object({
    prompt: z
      .string()
      .trim()
      .min(1)
      .max(4_000)
      .describe('What the site is about, or for patch mode the change to make'),
    provider: z
      .enum(SITE_PROVIDERS)
      .optional()
      .describe('Requested provider; honoured when enabled'),
    mode: z.enum(['create', 'patch']).default('create'),
    site: siteSchema.optional().describe('The existing site (patch mode)'),
    business_name: z.string().trim().min(1).max(200).optional(),
    audience: z.string().trim().min(1).max(500).optional(),
    tone: z.enum(['friendly', 'professional', 'playful', 'luxury', 'minimal']).optional(),
    sections: z.array(z.enum(SECTION_TYPES)).min(1).max(12).optional(),
    language: z
      .string()
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'a BCP 47 language tag such as en or en-AU')
      .optional(),
  })
  .strict()
  .superRefine((brief, context) => {
    if (brief.mode === 'patch' && brief.site === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['site'],
        message: 'patch mode needs the existing site',
      });
    }
    if (brief.mode === 'create' && brief.site !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['site'],
        message: 'site is only used in patch mode',
      });
    }
  })
  .openapi('SiteBrief');

export type SiteBrief = z.infer<typeof siteBriefSchema>;
