import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../lib/errors.ts';

/**
 * PGlite runs inside one process; two processes on one data folder would corrupt it. A pid file
 * keeps the folder to one genloop process at a time and is taken over when its owner is gone.
 * Returns the function that releases it.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const path = join(dataDir, 'genloop.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        rmSync(path, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new OperatorError(
          `another genloop process (pid ${owner}) is using the embedded database in ${dataDir}; stop it, or set GENLOOP_DATA_DIR to another folder.`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new OperatorError(
    `cannot lock the embedded database folder ${dataDir}; remove ${path} and retry.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
