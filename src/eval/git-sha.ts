import { execFile } from 'node:child_process';

/**
 * The commit being evaluated: `GITHUB_SHA` in GitHub Actions, else `git rev-parse HEAD` when the
 * working directory is a git checkout, else null.
 */
export async function detectGitSha(
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Promise<string | null> {
  const fromEnv = env.GITHUB_SHA?.trim();
  if (fromEnv && /^[0-9a-f]{7,64}$/i.test(fromEnv)) return fromEnv.toLowerCase();
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5_000 }, (error, stdout) => {
      const sha = String(stdout).trim();
      resolve(error || !/^[0-9a-f]{40,64}$/.test(sha) ? null : sha);
    });
  });
}
