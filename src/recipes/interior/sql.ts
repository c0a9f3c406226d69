import type { Queryable } from '../../db/types.ts';

/** One stored variant of a render. */
export interface VariantRow {
  idx: number;
  bucket: string;
  path: string;
  thumbnail_path: string | null;
  content_type: string;
  width: number;
  height: number;
  size_bytes: number;
}

export interface RenderRow {
  id: string;
  generation_id: string;
  mode: string;
  style: string | null;
  room_type: string | null;
  prompt: string | null;
  created_at: Date;
  variants: VariantRow[];
}

export interface NewRender {
  generationId: string;
  userId: string;
  mode: string;
  style: string | null;
  roomType: string | null;
  prompt: string | null;
  variants: Omit<VariantRow, 'content_type'>[];
}

/**
 * Creates a job's render and its variants, once: the render is unique per generation and the
 * variants per (render, idx), so applying the same result twice adds nothing. Runs inside the
 * transaction that completes the job.
 */
export async function insertRender(db: Queryable, render: NewRender): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `with inserted as (
       insert into public.renders (user_id, generation_id, mode, style, room_type, prompt)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (generation_id) do nothing
       returning id
     )
     select id from inserted
     union all
     select id from public.renders where generation_id = $2 and not exists (select 1 from inserted)`,
    [render.userId, render.generationId, render.mode, render.style, render.roomType, render.prompt],
  );
  const renderId = rows[0]!.id;
  const v = render.variants;
  await db.query(
    `insert into public.render_variants
       (render_id, user_id, idx, bucket, path, thumbnail_path, content_type, width, height, size_bytes)
     select $1, $2, idx, bucket, path, thumbnail_path, 'image/webp', width, height, size_bytes
       from unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::bigint[])
         as v(idx, bucket, path, thumbnail_path, width, height, size_bytes)
     on conflict (render_id, idx) do nothing`,
    [
      renderId,
      render.userId,
      v.map((x) => x.idx),
      v.map((x) => x.bucket),
      v.map((x) => x.path),
      v.map((x) => x.thumbnail_path),
      v.map((x) => x.width),
      v.map((x) => x.height),
      v.map((x) => x.size_bytes),
    ],
  );
  return renderId;
}

const RENDER_COLUMNS = `r.id, r.generation_id, r.mode, r.style, r.room_type, r.prompt, r.created_at,
  coalesce((select jsonb_agg(jsonb_build_object(
      'idx', v.idx, 'bucket', v.bucket, 'path', v.path, 'thumbnail_path', v.thumbnail_path,
      'content_type', v.content_type, 'width', v.width, 'height', v.height, 'size_bytes', v.size_bytes)
      order by v.idx)
    from public.render_variants v where v.render_id = r.id), '[]'::jsonb) as variants`;

export interface RenderFilters {
  mode?: string | undefined;
  style?: string | undefined;
  roomType?: string | undefined;
  generationId?: string | undefined;
}

/**
 * The caller's renders, newest first, with their variants; keyset pagination on
 * (created_at, id). Run as the user: row-level security limits it to their own.
 */
export async function listRenders(
  db: Queryable,
  input: RenderFilters & { after?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<(RenderRow & { cursor_ts: string })[]> {
  const { rows } = await db.query<RenderRow & { cursor_ts: string }>(
    `select ${RENDER_COLUMNS},
            to_char(r.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from public.renders r
      where ($1::text is null or r.mode = $1)
        and ($2::text is null or r.style = $2)
        and ($3::text is null or r.room_type = $3)
        and ($4::uuid is null or r.generation_id = $4)
        and ($5::timestamptz is null or (r.created_at, r.id) < ($5::timestamptz, $6::uuid))
      order by r.created_at desc, r.id desc
      limit $7`,
    [
      input.mode ?? null,
      input.style ?? null,
      input.roomType ?? null,
      input.generationId ?? null,
      input.after?.createdAt ?? null,
      input.after?.id ?? null,
      input.limit,
    ],
  );
  return rows;
}

/** One render with its variants (as the user: another user's render is not found). */
export async function getRender(db: Queryable, id: string): Promise<RenderRow | undefined> {
  const { rows } = await db.query<RenderRow>(
    `select ${RENDER_COLUMNS} from public.renders r where r.id = $1`,
    [id],
  );
  return rows[0];
}

/** The render of a generation, if it has one. */
export async function renderOfGeneration(
  db: Queryable,
  generationId: string,
): Promise<RenderRow | undefined> {
  const { rows } = await db.query<RenderRow>(
    `select ${RENDER_COLUMNS} from public.renders r where r.generation_id = $1`,
    [generationId],
  );
  return rows[0];
}

/**
 * Deletes a render (its variants cascade) and returns the variants it had, so the caller can
 * delete their blobs once the transaction committed. Undefined when there is no such render.
 */
export async function deleteRender(db: Queryable, id: string): Promise<VariantRow[] | undefined> {
  const { rows } = await db.query<{ variants: VariantRow[] }>(
    `with gone as (
       select ${RENDER_COLUMNS} from public.renders r where r.id = $1
     ),
     deleted as (delete from public.renders where id = $1 returning id)
     select gone.variants from gone join deleted using (id)`,
    [id],
  );
  return rows[0]?.variants;
}

export interface UploadRow {
  id: string;
  user_id: string;
  generation_id: string | null;
  bucket: string;
  path: string;
  content_type: string;
  size_bytes: number;
  width: number | null;
  height: number | null;
  sha256: string | null;
}

/** Records stored input photos (inside the submitting transaction). */
export async function insertUploads(
  db: Queryable,
  rows: readonly Omit<UploadRow, 'generation_id'>[],
  generationId: string,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into public.uploads (id, user_id, generation_id, bucket, path, content_type, size_bytes, width, height, sha256)
     select id, user_id, $1, bucket, path, content_type, size_bytes, width, height, sha256
       from jsonb_to_recordset($2::jsonb) as x(id uuid, user_id uuid, bucket text, path text,
         content_type text, size_bytes bigint, width integer, height integer, sha256 text)`,
    [generationId, JSON.stringify(rows)],
  );
}

/** Uploads by id, in the order asked (as the user: others' uploads are simply not found). */
export async function findUploads(db: Queryable, ids: readonly string[]): Promise<UploadRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<UploadRow>(
    `select u.id, u.user_id, u.generation_id, u.bucket, u.path, u.content_type, u.size_bytes,
            u.width, u.height, u.sha256
       from unnest($1::uuid[]) with ordinality as wanted(id, position)
       join public.uploads u on u.id = wanted.id
      order by wanted.position`,
    [ids],
  );
  return rows;
}
