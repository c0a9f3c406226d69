import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type JsonlLine, LineTooLongError, readLineBatches } from './jsonl.ts';

const dir = mkdtempSync(join(tmpdir(), 'genloop-jsonl-'));

async function lines(content: string | Buffer, options = {}): Promise<JsonlLine[]> {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, content);
  const all: JsonlLine[] = [];
  for await (const batch of readLineBatches(path, options)) all.push(...batch);
  return all;
}

describe('readLineBatches', () => {
  it('numbers lines, strips \\r\\n and marks an unterminated last line', async () => {
    expect(await lines('a\r\nb\n\nc')).toEqual([
      { number: 1, text: 'a', terminated: true },
      { number: 2, text: 'b', terminated: true },
      { number: 3, text: '', terminated: true },
      { number: 4, text: 'c', terminated: false },
    ]);
  });

  it('reads nothing from an empty file', async () => {
    expect(await lines('')).toEqual([]);
  });

  it('keeps multi-byte characters split across chunks and skips a BOM', async () => {
    const text = `\ufeff${'é'.repeat(10)}\n${'😀'.repeat(10)}\n`;
    const result = await lines(Buffer.from(text, 'utf8'), { chunkBytes: 3 });
    expect(result.map((line) => line.text)).toEqual(['é'.repeat(10), '😀'.repeat(10)]);
  });

  it('refuses a line longer than the limit, naming it', async () => {
    await expect(
      lines(`ok\n${'x'.repeat(100)}\n`, { maxLineBytes: 50, chunkBytes: 16 }),
    ).rejects.toEqual(new LineTooLongError(2, 50));
  });
});
