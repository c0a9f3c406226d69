import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { asUser } from '../../db/context.ts';
import { MODES, ROOM_TYPE_NAMES, STYLE_NAMES } from '../../recipes/interior/catalog.ts';
import type { Interior } from '../../recipes/interior/index.ts';
import { deleteRender, getRender, listRenders, type RenderRow } from '../../sql/renders.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ProblemSchema } from '../problem-schema.ts';
import { validationHook } from '../validation.ts';
import { notFound, uuidOr404 } from './flashcards.ts';

const problem = { 'application/problem+json': { schema: ProblemSchema } };
const security = [{ bearerAuth: [] }];

const RenderSchema = z
  .object({
    id: z.string().uuid(),
    generation_id: z.string().uuid(),
    mode: z.string(),
    style: z.string().nullable(),
    room_type: z.string().nullable(),
    prompt: z.string().nullable(),
    created_at: z.string(),
    variants: z.array(
      z.object({
        url: z.string(),
        thumbnail_url: z.string().nullable(),
        width: z.number().int(),
        height: z.number().int(),
      }),
    ),
  })
  .openapi('Render');
type RenderView = z.infer<typeof RenderSchema>;

/**
 * The caller's renders: list with filters and cursor pagination, one render with its variants,
 * and delete (the variant and thumbnail blobs go too, once the rows are gone).
 */
export function renderRoutes(interior: Interior) {
  const { db, store, config } = interior.deps;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const view = (row: RenderRow, origin: string) =>
    toView(row, store, (config.publicBaseUrl ?? origin).replace(/\/+$/, ''));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/renders',
      tags: ['interior'],
      summary: "The caller's renders, newest first (filters, cursor pagination)",
      security,
      request: {
        query: z.object({
          mode: z.enum(MODES).optional(),
          style: z.enum(STYLE_NAMES as [string, ...string[]]).optional(),
          room_type: z.enum(ROOM_TYPE_NAMES as [string, ...string[]]).optional(),
          generation_id: z.string().uuid().optional(),
          cursor: z
            .string()
            .optional()
            .openapi({ description: 'next_cursor of the previous page' }),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      },
      responses: {
        200: {
          description: 'A page',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(RenderSchema), next_cursor: z.string().nullable() }),
            },
          },
        },
        400: { description: 'Bad filter, cursor or limit', content: problem },
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const rows = await asUser(db, c.get('auth').claims, (tx) =>
        listRenders(tx, {
          mode: query.mode,
          style: query.style,
          roomType: query.room_type,
          generationId: query.generation_id,
          after,
          limit: query.limit + 1,
        }),
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const origin = new URL(c.req.url).origin;
      return c.json(
        {
          data: page.map((row) => view(row, origin)),
          next_cursor:
            rows.length > query.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/renders/{id}',
      tags: ['interior'],
      summary: 'One render with its variants (404 when it is not yours)',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: {
          description: 'The render',
          content: { 'application/json': { schema: RenderSchema } },
        },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'render');
      const row = await asUser(db, c.get('auth').claims, (tx) => getRender(tx, id));
      if (!row) throw notFound('render');
      return c.json(view(row, new URL(c.req.url).origin), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/renders/{id}',
      tags: ['interior'],
      summary: 'Delete a render, its variants and their images',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        204: { description: 'Deleted' },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'render');
      const variants = await asUser(db, c.get('auth').claims, (tx) => deleteRender(tx, id));
      if (!variants) throw notFound('render');
      // After the commit: a failed blob delete leaves an orphan file, never a row without its image.
      const paths = variants.flatMap((variant) =>
        variant.thumbnail_path ? [variant.path, variant.thumbnail_path] : [variant.path],
      );
      await store.delete('renders', paths).catch((error: unknown) => {
        c.get('logger').warn({ err: error, render_id: id }, 'deleting render blobs failed');
      });
      return c.body(null, 204);
    },
  );

  return app;
}

function toView(row: RenderRow, store: BlobStore, baseUrl: string): RenderView {
  return {
    id: row.id,
    generation_id: row.generation_id,
    mode: row.mode,
    style: row.style,
    room_type: row.room_type,
    prompt: row.prompt,
    created_at:
      row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at),
    variants: row.variants.map((variant) => ({
      url: store.publicUrl(variant.path, { baseUrl }),
      thumbnail_url: variant.thumbnail_path
        ? store.publicUrl(variant.thumbnail_path, { baseUrl })
        : null,
      width: variant.width,
      height: variant.height,
    })),
  };
}
