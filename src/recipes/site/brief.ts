import { z } from '@hono/zod-openapi';
import { SECTION_TYPES, siteSchema } from './schema.ts';

/** Text providers a site brief may ask for (the seed's openai | custom, plus openrouter). */
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
