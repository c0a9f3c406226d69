import { z } from 'zod';
import type { FileValues, Values } from './setting.ts';
import { settings } from './settings.ts';
import { fileShape } from './table.ts';

/** The keys a genloop config file (`genloop.config.json`) may hold; flags use the same. */
export type FileConfig = FileValues<typeof settings>;

export const fileConfigSchema = z
  .object(fileShape(settings))
  .partial()
  .strict() as unknown as z.ZodType<FileConfig>;

/**
 * Everything genloop needs to run, resolved once at start and passed down frozen. Its fields are
 * the rows of the settings table (settings.ts), where each one is described.
 */
export interface ResolvedConfig extends Values<typeof settings, 'final'> {
  /** `embedded` runs on PGlite in `dataDir`; `postgres` on the server at `databaseUrl`. */
  readonly mode: 'embedded' | 'postgres';
}

/** Provider credentials and endpoints, read from the environment only (never from files). */
export type ProviderSettings = ResolvedConfig['providers'];

/** Blob storage: the local folder (default) or an S3-compatible service. */
export type StorageSettings = ResolvedConfig['storage'];

/** Limits of the interior flow's inputs and of the assets genloop downloads from providers. */
export type InteriorSettings = ResolvedConfig['interior'];
