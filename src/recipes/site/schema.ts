import { z } from 'zod';

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
