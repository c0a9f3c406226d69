import type { Queryable } from '../db/types.ts';

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
