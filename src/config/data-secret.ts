import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A random secret of `size` bytes kept in `dataDir/fileName`, made on first use and read back
 * after, for deployments that are given no secret of their own. Only the owner may read it.
 */
export function dataSecret(dataDir: string, fileName: string, size: number): string {
  const path = join(dataDir, fileName);
  if (existsSync(path)) {
    const secret = readFileSync(path, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(size).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}
