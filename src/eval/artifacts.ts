import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { junitXml } from './junit.ts';
import { markdownSummary } from './markdown.ts';
import type { EvalReport } from './report.ts';

export interface ArtifactPaths {
  report: string;
  junit: string;
  summary: string;
}

/**
 * The artifact paths for a report path: JUnit XML and the markdown summary sit next to the
 * report (`eval.json` → `eval.junit.xml`, `eval.md`) unless given.
 */
export function artifactPaths(report: string, junit?: string, summary?: string): ArtifactPaths {
  const base = report.endsWith('.json') ? report.slice(0, -'.json'.length) : report;
  return { report, junit: junit ?? `${base}.junit.xml`, summary: summary ?? `${base}.md` };
}

/** Writes the report JSON, JUnit XML and markdown summary, each atomically (temp + rename). */
export async function writeArtifacts(report: EvalReport, paths: ArtifactPaths): Promise<void> {
  await writeAtomically(paths.report, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(paths.junit, junitXml(report));
  await writeAtomically(paths.summary, markdownSummary(report));
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.partial`;
  await writeFile(temporary, content, 'utf8');
  await rename(temporary, path);
}
