import { backoffDelay, sleep } from '../../routing/backoff.ts';
import { AssetFetchError, type FetchedAsset, fetchAsset } from '../../storage/asset-fetch.ts';
import { toVariantImages, type VariantImages } from '../../storage/images.ts';
import { thumbnailPath, variantPath } from '../../storage/paths.ts';
import type { InteriorDeps } from './deps.ts';
import type { VariantRow } from './sql.ts';

const DOWNLOAD_ATTEMPTS = 3;

/**
 * Copies a prediction's outputs into genloop's public renders bucket (Replicate deletes them
 * after about an hour): each URL is downloaded under the SSRF rules, converted to WebP with a
 * thumbnail, and stored at `{user_id}/{generation_id}/variant-{n}.webp`. Every output is
 * downloaded and converted before the first object is written, so a refused or broken output
 * leaves nothing behind, not even its good siblings. Paths are deterministic, so two completers
 * racing write the same objects. Transient download failures are retried with backoff; a
 * refused URL or a non-image is not.
 */
export async function storeVariants(
  deps: InteriorDeps,
  job: { id: string; user_id: string },
  urls: readonly string[],
  signal?: AbortSignal,
): Promise<Omit<VariantRow, 'content_type'>[]> {
  const bucket = deps.store.bucketName('renders');
  // allSettled, not all: no download is still running (and writing) after this one fails.
  const downloads = await Promise.allSettled(urls.map((url) => download(deps, url, signal)));
  const refused = downloads.find((outcome) => outcome.status === 'rejected');
  if (refused) throw refused.reason;
  const converted: VariantImages[] = [];
  for (const outcome of downloads) {
    const asset = (outcome as PromiseFulfilledResult<FetchedAsset>).value;
    converted.push(
      await toVariantImages(asset.bytes, { maxPixels: deps.config.interior.maxInputPixels }),
    );
  }
  return Promise.all(
    converted.map(async (images, index) => {
      const path = variantPath(job.user_id, job.id, index);
      const thumbnail = thumbnailPath(job.user_id, job.id, index);
      await deps.store.put('renders', path, images.full.bytes, images.full.contentType);
      await deps.store.put(
        'renders',
        thumbnail,
        images.thumbnail.bytes,
        images.thumbnail.contentType,
      );
      return {
        idx: index,
        bucket,
        path,
        thumbnail_path: thumbnail,
        width: images.full.width,
        height: images.full.height,
        size_bytes: images.full.bytes.length,
      };
    }),
  );
}

async function download(deps: InteriorDeps, url: string, signal?: AbortSignal) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchAsset(url, { ...deps.assets, ...(signal ? { signal } : {}) });
    } catch (error) {
      const retryable = error instanceof AssetFetchError && error.retryable;
      if (!retryable || attempt + 1 >= DOWNLOAD_ATTEMPTS || signal?.aborted) throw error;
      await sleep(backoffDelay(attempt, undefined, deps.backoff), signal);
    }
  }
}
