import { beforeAll, expect, it } from 'vitest';
import { describeEachWith } from '../helpers/stack.ts';
import {
  changedTables,
  type TableSnapshot,
  tableSnapshotter,
  userRowsSnapshotter,
} from './db-snapshot.ts';
import { fetchDocument, idParameters, type Operation, operationsOf } from './openapi.ts';
import {
  createOwnedObjects,
  type OwnedObjects,
  type SecurityStack,
  startSecurityStack,
} from './stack.ts';

/**
 * User B aims every operation of /openapi.json that names an object by id at user A's object
 * of that kind (reliability case 14): B gets 404 (or an empty list), nothing changes, and A
 * gets 2xx with the same request, which proves the id was the right one.
 */

/**
 * Operator routes: a user's token is refused there whatever id it names (403 before any lookup),
 * so they stand outside the user-against-user matrix; the last test below holds them to that.
 */
const OPERATOR_PREFIX = '/api/v1/admin/';

/** Which of A's objects an operation's id names, and a body the operation accepts. */
interface Target {
  id: (objects: OwnedObjects) => string;
  body?: unknown;
}

/**
 * Every operation that takes an id, by `METHOD path`. A new route that takes an id fails the
 * suite until it is added here, so it cannot be left out of the matrix. Each mutation gets an
 * object of its own, so that A's calls can all succeed.
 */
const TARGETS: Record<string, Target> = {
  'GET /api/ai/generations/{id}': { id: (a) => a.flashcardGeneration },
  'POST /api/ai/generations/{id}/cancel': { id: (a) => a.pendingFlashcardGeneration },
  'GET /api/ai/suggestions': { id: (a) => a.flashcardGeneration },
  'PATCH /api/ai/suggestions/{id}': { id: (a) => a.suggestions[1]!, body: { front: 'edited' } },
  'POST /api/ai/suggestions/{id}/accept': { id: (a) => a.suggestions[2]! },
  'POST /api/ai/suggestions/{id}/reject': { id: (a) => a.suggestions[3]! },
  'POST /api/v1/generations/{id}/outcomes': {
    id: (a) => a.flashcardGeneration,
    body: { edit_after_generate: true },
  },
  'GET /api/v1/generations/{id}': { id: (a) => a.interiorGeneration },
  'GET /api/v1/renders': { id: (a) => a.interiorGeneration },
  'GET /api/v1/renders/{id}': { id: (a) => a.render },
  'DELETE /api/v1/renders/{id}': { id: (a) => a.render },
};

/**
 * Routes the app serves that take an id but that /openapi.json does not list. They are held
 * to the same rules; the first test fails when one of them appears in the document, so that
 * it moves to {@link TARGETS}.
 */
const UNDOCUMENTED: Operation[] = [
  {
    method: 'POST',
    path: '/api/v1/generations/{id}/cancel',
    key: 'POST /api/v1/generations/{id}/cancel',
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    body: {},
    secured: true,
    statuses: [],
    description: '',
  },
];
const UNDOCUMENTED_TARGETS: Record<string, Target> = {
  'POST /api/v1/generations/{id}/cancel': { id: (a) => a.pendingInteriorGeneration },
};

/** Reads come before writes, and the delete comes last, so that every call of A can succeed. */
function order(operation: Operation): number {
  if (operation.method === 'GET') return 0;
  if (operation.method === 'DELETE') return 2;
  return 1;
}

interface Call {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the assertions read fields of arbitrary answers.
  body: any;
  text: string;
}

async function call(
  stack: SecurityStack,
  operation: Operation,
  target: Target,
  objects: OwnedObjects,
  token: string,
  transformId: (id: string) => string = (id) => id,
): Promise<Call & { url: string }> {
  const id = transformId(target.id(objects));
  let url = operation.path;
  const query: string[] = [];
  for (const parameter of idParameters(operation)) {
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, id);
    else query.push(`${parameter.name}=${id}`);
  }
  if (query.length > 0) url += `?${query.join('&')}`;
  const response = await stack.app.request(url, {
    method: operation.method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(target.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(target.body === undefined ? {} : { body: JSON.stringify(target.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, url };
}

describeEachWith(
  'user B against user A, every id-taking operation of /openapi.json',
  (driver) => startSecurityStack(driver),
  (use) => {
    let operations: Operation[] = [];
    let operatorOperations: Operation[] = [];
    let idOperations: Operation[] = [];
    let a: OwnedObjects;
    let b: OwnedObjects;
    let tables: () => Promise<TableSnapshot>;
    let rowsOf: (userId: string) => Promise<Record<string, string[]>>;

    beforeAll(async () => {
      const stack = use();
      const documented = operationsOf(await fetchDocument(stack.app));
      operations = documented.filter((operation) => !operation.path.startsWith(OPERATOR_PREFIX));
      operatorOperations = documented.filter((operation) =>
        operation.path.startsWith(OPERATOR_PREFIX),
      );
      idOperations = [...operations, ...UNDOCUMENTED]
        .filter((operation) => idParameters(operation).length > 0)
        .sort((x, y) => order(x) - order(y));
      // B owns objects too, so that B's lists are not empty for want of anything to show.
      [a, b] = (await createOwnedObjects(stack, 2)) as [OwnedObjects, OwnedObjects];
      tables = await tableSnapshotter(stack.database.db);
      rowsOf = await userRowsSnapshotter(stack.database.db);
    });

    const targetOf = (operation: Operation) =>
      TARGETS[operation.key] ?? UNDOCUMENTED_TARGETS[operation.key];

    it('every operation that takes an id is mapped to an object of A', () => {
      expect(operations.length).toBeGreaterThan(0);
      const idTaking = operations.filter((operation) => idParameters(operation).length > 0);
      expect(idTaking.length).toBeGreaterThan(0);
      expect(
        idTaking.filter((operation) => !TARGETS[operation.key]).map((operation) => operation.key),
        'id-taking operations with no target',
      ).toEqual([]);
      expect(
        Object.keys(TARGETS).filter((key) => !idTaking.some((operation) => operation.key === key)),
        'targets of operations the document no longer has',
      ).toEqual([]);
      expect(
        UNDOCUMENTED.filter((extra) =>
          operations.some((operation) => operation.key === extra.key),
        ).map((extra) => extra.key),
        'now documented: move to TARGETS',
      ).toEqual([]);
    });

    it("B gets 404 or an empty list for each of A's objects, and nothing changes", async () => {
      const stack = use();
      const aBefore = await rowsOf(a.userId);
      let before = await tables();
      const answers: string[] = [];
      for (const operation of idOperations) {
        const target = targetOf(operation)!;
        const inQuery = idParameters(operation).every((parameter) => parameter.in === 'query');
        for (const spelling of [(id: string) => id, (id: string) => id.toUpperCase()]) {
          const answer = await call(stack, operation, target, a, b.token, spelling);
          answers.push(`${operation.method} ${answer.url} → ${answer.status}`);
          if (answer.status === 404) {
            expect(answer.body?.code, `${operation.key}: a 404 problem`).toMatch(/not_found/);
          } else {
            expect(
              inQuery && answer.status === 200,
              `${operation.key} as B with A's id: ${answer.status} ${answer.text.slice(0, 300)}`,
            ).toBe(true);
            expect(answer.body.data, `${operation.key}: B's list holds A's objects`).toEqual([]);
          }
          expect(answer.text).not.toContain(a.userId);
          const after = await tables();
          expect(changedTables(before, after), `${operation.key} as B changed rows`).toEqual([]);
          before = after;
        }
      }
      expect(await rowsOf(a.userId)).toEqual(aBefore);
      console.log(`B against A:\n  ${answers.join('\n  ')}`);
    });

    it("B's lists and reads never show A's objects", async () => {
      const stack = use();
      const reads = operations.filter(
        (operation) =>
          operation.method === 'GET' &&
          operation.secured &&
          !operation.parameters.some((parameter) => parameter.in === 'path'),
      );
      expect(reads.length).toBeGreaterThan(0);
      const aIds = [
        a.userId,
        a.flashcardGeneration,
        a.pendingFlashcardGeneration,
        ...a.suggestions,
        a.card,
        a.interiorGeneration,
        a.pendingInteriorGeneration,
        a.render,
      ];
      for (const operation of reads) {
        const response = await stack.app.request(operation.path, {
          headers: { authorization: `Bearer ${b.token}` },
        });
        const text = await response.text();
        for (const id of aIds) expect(text, `${operation.key} as B`).not.toContain(id);
      }
    });

    it('A gets 2xx with the same calls (the ids were the right ones)', async () => {
      const stack = use();
      const answers: string[] = [];
      for (const operation of idOperations) {
        const answer = await call(stack, operation, targetOf(operation)!, a, a.token);
        answers.push(`${operation.method} ${answer.url} → ${answer.status}`);
        expect(
          answer.status >= 200 && answer.status < 300,
          `${operation.key} as A: ${answer.status} ${answer.text.slice(0, 300)}`,
        ).toBe(true);
        if (operation.method === 'GET' && Array.isArray(answer.body?.data)) {
          expect(answer.body.data.length, `${operation.key}: A's list is empty`).toBeGreaterThan(0);
        }
      }
      console.log(`A's own calls:\n  ${answers.join('\n  ')}`);
    });

    it("B's token opens no operator route, whatever id it names", async () => {
      const stack = use();
      const idTaking = operatorOperations.filter((operation) => idParameters(operation).length > 0);
      expect(idTaking.length).toBeGreaterThan(0);
      const before = await tables();
      for (const operation of idTaking) {
        const url = operation.path.replace(/\{[^}]+\}/g, a.flashcardGeneration);
        const response = await stack.app.request(url, {
          method: operation.method,
          headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' },
          ...(operation.method === 'GET' ? {} : { body: '{}' }),
        });
        const text = await response.text();
        expect(response.status, `${operation.key}: ${text.slice(0, 200)}`).toBe(403);
        expect(text).not.toContain(a.userId);
      }
      expect(changedTables(before, await tables())).toEqual([]);
    });
  },
);
