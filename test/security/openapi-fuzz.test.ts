import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { describeEachWith, TEST_JWT_SECRET } from '../helpers/stack.ts';
import { photo, pngBomb } from '../interior/fixtures.ts';
import { changedTables, type TableSnapshot, tableSnapshotter } from './db-snapshot.ts';
import type { FuzzRequest } from './fuzz-request.ts';
import { hostileAuthorizations } from './hostile-auth.ts';
import { type FuzzContext, faultsOf, hostileRequest, inputSize } from './hostile-requests.ts';
import { fetchDocument, type Operation, operationsOf } from './openapi.ts';
import { createOwnedObjects, type OwnedObjects, startSecurityStack } from './stack.ts';

/**
 * Hostile input generated from /openapi.json over every documented operation (reliability
 * case 26): no answer is a 5xx, every refusal is a problem document with a code, the app keeps
 * answering, and a refused request changes no row of any table. GENLOOP_FUZZ_RUNS sets the
 * number of requests across all operations (`npm run fuzz` sends many more than CI does).
 */
const TOTAL_RUNS = Number(process.env.GENLOOP_FUZZ_RUNS ?? 5_000);
const SEED = 42;
const ANSWER_TIMEOUT_MS = 10_000;

interface OperationStats {
  requests: number;
  statuses: Map<number, number>;
  /** The first request found (before shrinking) for each kind of problem. */
  findings: Map<string, string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function same(a: TableSnapshot, b: TableSnapshot): boolean {
  return changedTables(a, b).length === 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describeEachWith(
  'hostile requests from /openapi.json',
  (driver) => startSecurityStack(driver),
  (use, driver) => {
    let operations: Operation[] = [];
    let context: FuzzContext;
    let snapshot: () => Promise<TableSnapshot>;
    const stats = new Map<string, OperationStats>();

    beforeAll(async () => {
      const stack = use();
      const document = await fetchDocument(stack.app);
      operations = operationsOf(document);
      const [owned, other] = (await createOwnedObjects(stack, 2)) as [OwnedObjects, OwnedObjects];
      const cursors: string[] = [];
      for (const path of ['/api/ai/generations?limit=1', '/api/v1/renders?limit=1']) {
        // The user has two of each, so a page of one has a next page.
        const page = (await (
          await stack.app.request(path, { headers: { authorization: `Bearer ${owned.token}` } })
        ).json()) as { next_cursor: string | null };
        if (page.next_cursor) cursors.push(page.next_cursor);
      }
      if (cursors.length === 0) throw new Error('no list handed out a next_cursor');
      const jpeg = new Uint8Array(await photo('jpeg', 64, 48));
      const idsOf = (objects: OwnedObjects) => [
        objects.flashcardGeneration,
        objects.pendingFlashcardGeneration,
        ...objects.suggestions,
        objects.card,
        objects.interiorGeneration,
        objects.pendingInteriorGeneration,
        objects.render,
      ];
      context = {
        document,
        userToken: owned.token,
        // Signed up front (signing is async, generators are not); many, so that most requests
        // from a fresh user find it without jobs in flight or a used-up rate limit.
        freshTokens: await Promise.all(Array.from({ length: 1_000 }, () => stack.token())),
        serviceToken: await stack.token(randomUUID(), 'service_role'),
        hostileAuthorizations: await hostileAuthorizations(
          TEST_JWT_SECRET,
          owned.userId,
          owned.token,
        ),
        ownIds: idsOf(owned),
        foreignIds: idsOf(other),
        predictionIds: [owned.predictionId, other.predictionId],
        cursors,
        webhookSecret: stack.simulator.webhookSecret,
        files: [
          { name: 'room.jpg', type: 'image/jpeg', bytes: jpeg },
          {
            name: 'room.png',
            type: 'image/png',
            bytes: new Uint8Array(await photo('png', 32, 32)),
          },
          { name: 'empty.jpg', type: 'image/jpeg', bytes: new Uint8Array() },
          { name: 'text.png', type: 'image/png', bytes: new TextEncoder().encode('not an image') },
          { name: 'cut.jpg', type: 'image/jpeg', bytes: jpeg.slice(0, jpeg.length >> 1) },
          { name: 'bomb.png', type: 'image/png', bytes: new Uint8Array(pngBomb()) },
        ],
        photos: [0, 1],
        bodyLimitBytes: stack.config.bodyLimitBytes,
      };
      snapshot = await tableSnapshotter(stack.database.db);
    });

    it('the document lists operations', () => {
      expect(operations.length).toBeGreaterThan(0);
    });

    it(
      'no operation answers 5xx, refuses without a problem document, or changes rows when refusing',
      async () => {
        const stack = use();
        // Runs are shared out by how much input an operation takes (at least 40 each): a body
        // of many fields has more ways to go wrong than GET /healthz.
        const weights = operations.map((operation) => 2 + inputSize(operation, context.document));
        const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
        const runsOf = (index: number) =>
          Math.max(40, Math.ceil((TOTAL_RUNS * weights[index]!) / weightSum));
        const failures: string[] = [];
        let last = await snapshot();
        let previous = '(none)';

        const observe = async (request: FuzzRequest, entry: OperationStats) => {
          const [url, init] = request.build();
          const response = await withTimeout(
            Promise.resolve(stack.app.request(url, init)),
            ANSWER_TIMEOUT_MS,
            request.operation,
          );
          const bytes = Buffer.from(await response.arrayBuffer());
          await stack.services.telemetry.flush();
          let after = await snapshot();
          // Writes a served request left running (telemetry, the response cache) land here,
          // not in the next request's window.
          if (response.status < 400 && request.method !== 'GET') {
            for (let round = 0; round < 20; round++) {
              await sleep(10);
              await stack.services.telemetry.flush();
              const again = await snapshot();
              if (same(after, again)) break;
              after = again;
            }
          }
          const changed = changedTables(last, after);
          last = after;
          entry.requests++;
          entry.statuses.set(response.status, (entry.statuses.get(response.status) ?? 0) + 1);

          const problems: string[] = [];
          const type = response.headers.get('content-type') ?? '';
          let code: unknown;
          if (response.status >= 400) {
            let problem: { code?: unknown; status?: unknown } | undefined;
            try {
              problem = JSON.parse(bytes.toString('utf8'));
            } catch {
              problem = undefined;
            }
            code = problem?.code;
            if (
              !type.startsWith('application/problem+json') ||
              typeof code !== 'string' ||
              problem?.status !== response.status
            ) {
              problems.push(
                `a ${response.status} that is not a problem document with a code (${type}): ${bytes.toString('utf8', 0, 200)}`,
              );
            }
          }
          if (response.status >= 500)
            problems.push(`answered ${response.status} (${String(code)})`);
          if (response.status >= 400 && response.status < 500 && changed.length > 0) {
            const tables = changed.map((table) => table.split(' ')[0]).join(', ');
            problems.push(
              `refused with ${response.status} (${String(code)}) yet changed ${tables}`,
            );
          }
          const before = previous;
          previous = `${request.method} ${request.url.slice(0, 120)} → ${response.status}`;
          if (problems.length > 0) {
            const kind = problems.join('; ');
            if (!entry.findings.has(kind)) entry.findings.set(kind, fc.stringify(request));
            const context =
              changed.length > 0 ? ` (${changed.join(', ')}; the request before: ${before})` : '';
            throw new Error(`${kind}${context}`);
          }
        };

        for (const [index, operation] of operations.entries()) {
          const entry: OperationStats = { requests: 0, statuses: new Map(), findings: new Map() };
          stats.set(operation.key, entry);
          // One property per kind of fault, so that a fault found in one part of the request
          // does not end the search in the others.
          const faults = faultsOf(operation);
          const faultWeights = faults.reduce((sum, { weight }) => sum + weight, 0);
          for (const [position, { fault, weight }] of faults.entries()) {
            const numRuns = Math.max(5, Math.ceil((runsOf(index) * weight) / faultWeights));
            const details = await fc.check(
              fc.asyncProperty(hostileRequest(operation, context, fault), (request) =>
                observe(request, entry),
              ),
              {
                // A fixed seed per operation and fault: the run is the same every time.
                seed: SEED + index * 100 + position,
                numRuns,
                // Shrinking a refusal that wrote a row can wander (each candidate changes state);
                // the bound is far above what the runs themselves take.
                interruptAfterTimeLimit: 15_000 + numRuns * 100,
              },
            );
            if (details.failed) {
              failures.push(
                `${operation.key}, fault ${fault} [${driver}]\n${fc.defaultReportMessage(details)}`,
              );
            }
          }
          // The process still serves, and still reaches its database.
          const ready = await stack.app.request('/readyz');
          expect(ready.status, `${operation.key}: /readyz after fuzzing`).toBe(200);
          last = await snapshot();
        }
        expect(failures.length, failures.join('\n\n')).toBe(0);
      },
      Math.max(300_000, TOTAL_RUNS * 60),
    );

    it('every documented operation was exercised, and the summary is printed', () => {
      const missing = operations
        .filter((operation) => (stats.get(operation.key)?.requests ?? 0) === 0)
        .map((operation) => operation.key);
      const histogram = new Map<number, number>();
      const lines = [...stats].map(([key, entry]) => {
        for (const [status, count] of entry.statuses) {
          histogram.set(status, (histogram.get(status) ?? 0) + count);
        }
        const documented = operations.find((operation) => operation.key === key)?.statuses ?? [];
        // Statuses the document does not list for the operation are marked, for whoever
        // keeps the document up to date; they are not failures.
        const statuses = [...entry.statuses]
          .sort(([a], [b]) => a - b)
          .map(([status, count]) => {
            const mark = documented.includes(String(status)) ? '' : '*';
            return `${status}${mark}×${count}`;
          })
          .join(' ');
        return `${String(entry.requests).padStart(6)}  ${key.padEnd(44)} ${statuses}`;
      });
      const total = [...stats.values()].reduce((sum, entry) => sum + entry.requests, 0);
      const findings = [...stats].flatMap(([key, entry]) =>
        [...entry.findings].map(([kind, request]) => `${key}: ${kind}\n  ${request}`),
      );
      console.log(
        [
          `hostile requests [${driver}]: ${total} sent over ${stats.size} operations (seeds ${SEED}+)`,
          ...lines,
          '(* a status the document does not list for the operation)',
          `statuses: ${[...histogram]
            .sort(([a], [b]) => a - b)
            .map(([status, count]) => `${status}×${count}`)
            .join(' ')}`,
          ...(findings.length > 0
            ? [
                'first request found for each problem (the failures above show them shrunk):',
                ...findings,
              ]
            : []),
        ].join('\n'),
      );
      expect(missing, 'operations never exercised').toEqual([]);
    });
  },
);
