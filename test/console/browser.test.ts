import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { setBudget } from '../../src/budgets/admin.ts';
import type { Spend } from '../../src/console/contract.ts';
import { CanaryController } from '../../src/rollout/canary/controller.ts';
import { abortCanary } from '../../src/rollout/canary/finish.ts';
import { selectDueRuns } from '../../src/rollout/canary/sql.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { describeEachWith } from '../helpers/stack.ts';
import { makeDue, recordFirstTries, testSettings } from '../rollout/canary-fixtures.ts';
import {
  CONSOLE_API_KEY,
  type ConsoleServer,
  insertJob,
  seedEvalRuns,
  seedHistory,
  seedJobs,
  startConsoleServer,
} from './console-server.ts';

// The console in a real browser (Debian's chromium, driven by playwright-core) against a real
// genloop server. Screenshots for docs/console.md are written only with GENLOOP_SCREENSHOTS=1,
// so that a test run leaves the working tree as it was.

const CHROMIUM = process.env.GENLOOP_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
/** Where the console keeps its token (src/console/ui/session.ts). */
const TOKEN_KEY = 'genloop.console.token';

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

afterAll(async () => {
  await browser?.close();
});

interface Fixture {
  server: ConsoleServer;
  failedJobs: string[];
  fallbackRequest: string;
  close(): Promise<void>;
}

async function startFixture(driver: ConsoleServer['driver']): Promise<Fixture> {
  const server = await startConsoleServer(driver);
  try {
    await seedHistory(server.db);
    for (let index = 0; index < 11; index++) await server.generate();
    // The first asks the cache and misses, the two after it are answered from it.
    for (let index = 0; index < 3; index++) await server.generate(undefined, { cache: true });
    const fallbackRequest = await server.generate('openai=error:503');
    await server.generate('openai=error:503;custom=error:500;openrouter=error:500');
    const { failed } = await seedJobs(server.db);
    await seedEvalRuns(server.db);
    await seedSpend(server.db);
    return { server, failedJobs: failed, fallbackRequest, close: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** The user who spent most in the fixture, and the plan they are on. */
const BIG_SPENDER = '7d9f0c2e-5b1a-4c3e-9f8d-2a6b4c8e1f00';

/** Priced calls of a few users and a budget plan, written as telemetry and by the budget command. */
async function seedSpend(db: Fixture['server']['db']): Promise<void> {
  await db.query(
    `insert into public.ai_training_examples
       (user_id, source, recipe, status, request_id, route_strategy, prompt_template_version,
        selected_provider, latency_ms, cost_usd, created_at)
     select case when n <= 4 then $1::uuid else gen_random_uuid() end, 'generation', 'gateway',
            'succeeded', gen_random_uuid(), 'fallback', 'v1',
            (array['openai', 'custom', 'openrouter'])[1 + n % 3], 200, 0.0125 * (1 + n % 5),
            now() - make_interval(mins => n * 7)
       from generate_series(1, 40) n`,
    [BIG_SPENDER],
  );
  await setBudget(db, { plan: 'free', usd: 0.5, period: 'day' });
  await setBudget(db, { user: BIG_SPENDER, usd: 5, period: 'month' });
}

/** A page of its own browser context, recording every page error and console error. */
interface Tab {
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

async function openTab(options: BrowserContextOptions & { token?: string } = {}): Promise<Tab> {
  const { token, ...contextOptions } = options;
  const context = await browser.newContext({ viewport: DESKTOP, ...contextOptions });
  if (token) {
    await context.addInitScript({
      content: `sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(token)});`,
    });
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  return { page, errors, close: () => context.close() };
}

/**
 * Writes docs/console/<name>.png when asked to (GENLOOP_SCREENSHOTS=1), from one driver only:
 * the whole page, or what fits the window for long lists.
 */
async function screenshot(
  page: Page,
  driver: string,
  name: string,
  { fullPage = true }: { fullPage?: boolean } = {},
): Promise<void> {
  if (process.env.GENLOOP_SCREENSHOTS !== '1' || driver !== 'pglite') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Charts and live values settle after the first answers; wait for the network to be quiet.
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** Pixels of a chart's canvas drawn in its first series' colour: proof that data was drawn. */
async function seriesPixels(page: Page, title: string): Promise<number> {
  const canvas = page.locator('figure.chart', { hasText: title }).locator('canvas');
  return canvas.evaluate((element) => {
    // biome-ignore lint/suspicious/noExplicitAny: DOM types are not part of the tests' build
    const canvasElement = element as any;
    const style = canvasElement.ownerDocument.defaultView.getComputedStyle(
      canvasElement.closest('.chart-plot'),
    );
    const hex = style.getPropertyValue('--series-1').trim().slice(1);
    const [red, green, blue] = [0, 2, 4].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
    const { data } = canvasElement
      .getContext('2d')
      .getImageData(0, 0, canvasElement.width, canvasElement.height);
    let count = 0;
    for (let index = 0; index < data.length; index += 4) {
      const near =
        Math.abs(data[index] - red!) < 30 &&
        Math.abs(data[index + 1] - green!) < 30 &&
        Math.abs(data[index + 2] - blue!) < 30 &&
        data[index + 3] > 200;
      if (near) count++;
    }
    return count;
  });
}

/** The request ids of the rows of the generations table, in order. */
async function generationRows(page: Page): Promise<string[]> {
  const links = page.locator('table tbody tr a[href^="/console/generations/"]');
  await links.first().waitFor();
  return links.evaluateAll((elements) =>
    // biome-ignore lint/suspicious/noExplicitAny: DOM types are not part of the tests' build
    elements.map((element: any) => String(element.getAttribute('href'))),
  );
}

describeEachWith('the console in chromium', startFixture, (use, driver) => {
  let tab: Tab | undefined;
  const open = async (options: Parameters<typeof openTab>[0] = {}) => {
    tab = await openTab(options);
    return tab.page;
  };
  const signedIn = async (options: Parameters<typeof openTab>[0] = {}) =>
    open({ token: await use().server.serviceToken(), ...options });

  afterEach(async () => {
    const errors = tab?.errors ?? [];
    await tab?.close();
    tab = undefined;
    expect(errors).toEqual([]);
  });

  it('signs in with a service-role token and draws the overview, which updates itself', async () => {
    const { server } = use();
    const page = await open();
    await page.goto(`${server.url}/console`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fconsole$/);
    await screenshot(page, driver, 'sign-in');
    await page.getByLabel('Access token').fill(await server.serviceToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/console`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

    const charts = page.locator('figure.chart');
    await expect.poll(() => charts.count()).toBe(5);
    for (const title of [
      'Generations per minute',
      'Success rate',
      'p95 latency per provider',
      'Cache hit rate',
    ]) {
      await expect.poll(() => seriesPixels(page, title), { timeout: 10_000 }).toBeGreaterThan(50);
    }
    for (const canvas of await page.locator('figure.chart canvas').all()) {
      const box = await canvas.boundingBox();
      expect(box?.width).toBeGreaterThan(200);
      expect(box?.height).toBeGreaterThan(100);
    }
    const legend = page
      .locator('figure.chart', { hasText: 'p95 latency per provider' })
      .locator('.legend li');
    await expect
      .poll(() => legend.allTextContents())
      .toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^openai \d/),
          expect.stringMatching(/^custom \d/),
        ]),
      );

    const total = page.locator('.stat', { hasText: 'Generations' }).locator('dd');
    expect(Number((await total.textContent())!.replaceAll(',', ''))).toBeGreaterThan(300);
    // Cache hits of prod (the seeded day's and the gateway's own) over its generations.
    const hitRate = page.locator('.stat', { hasText: 'Cache hit rate (prod)' }).locator('dd');
    await expect.poll(() => hitRate.textContent()).toMatch(/^1[0-9]\.[0-9] %$/);
    // A job submitted meanwhile shows up without a reload.
    const waiting = page
      .locator('.stat')
      .filter({ has: page.locator('dt', { hasText: /^Waiting$/ }) })
      .locator('dd');
    await expect.poll(() => waiting.textContent()).toBe('1');
    await insertJob(server.db, 'pending');
    await expect.poll(() => waiting.textContent(), { timeout: 12_000 }).toBe('2');

    await expect(
      page.locator('section[aria-labelledby="overview-eval"]').textContent(),
    ).resolves.toMatch(/failed[\s\S]*schema_valid_rate_min/);
    await screenshot(page, driver, 'overview');

    await page.getByLabel('Window').selectOption('1h');
    await page.waitForURL(/window=1h/);
    await expect.poll(() => seriesPixels(page, 'Generations per minute')).toBeGreaterThan(20);
  });

  it('loads the overview without moving what is already on screen', async () => {
    const { server } = use();
    const page = await signedIn();
    // Sums the layout shifts not caused by input, as the browser reports them (CLS).
    await page.addInitScript({
      content: `globalThis.layoutShift = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            if (!entry.hadRecentInput) globalThis.layoutShift += entry.value;
          }
        }).observe({ type: 'layout-shift', buffered: true });`,
    });
    await page.goto(`${server.url}/console`);
    await expect.poll(() => seriesPixels(page, 'p95 latency per provider')).toBeGreaterThan(50);
    await page.waitForLoadState('networkidle');
    // Below 0.1 is what browsers call a good cumulative layout shift.
    expect(await page.evaluate('globalThis.layoutShift')).toBeLessThan(0.1);
  });

  it('works from the keyboard: skip link, navigation, visible focus', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const focused = () =>
      page.evaluate(
        '({ text: document.activeElement.textContent.trim(), outline: getComputedStyle(document.activeElement).outlineStyle })',
      );
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ text: 'Skip to content', outline: 'solid' });
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toEqual({ text: 'Sign out', outline: 'solid' });
    for (let step = 0; step < 3; step++) await page.keyboard.press('Shift+Tab');
    expect(await focused()).toEqual({ text: 'Providers', outline: 'solid' });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.url}/console/providers`);
    // As after a page load, reading starts at the new page's heading.
    await expect.poll(() => page.evaluate('document.activeElement.tagName')).toBe('H1');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Providers');
    // Every control the page shows has a name a screen reader can read out.
    await page.getByLabel('Weight of openai').waitFor();
    const unnamed = await page.evaluate(
      `[...document.querySelectorAll('input, select, button')].filter((element) => !(element.labels?.length || element.getAttribute('aria-label') || element.textContent.trim())).length`,
    );
    expect(unnamed).toBe(0);
  });

  it('sends the operator back to sign-in, saying why, when the token stops working', async () => {
    const { server } = use();
    const page = await open({ token: 'a-token-that-was-revoked' });
    await page.goto(`${server.url}/console/jobs?window=1h`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fconsole%2Fjobs%3Fwindow%3D1h$/);
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/Your session ended \(invalid token\)\. Sign in again\./);
    tab!.errors = tab!.errors.filter((error) => !/status of 401/.test(error));
  });

  it('draws the overview in dark mode and at phone width', async () => {
    const { server } = use();
    const dark = await signedIn({ colorScheme: 'dark' });
    await dark.goto(`${server.url}/console`);
    await expect.poll(() => seriesPixels(dark, 'Generations per minute')).toBeGreaterThan(50);
    const background = await dark.evaluate(
      'getComputedStyle(document.documentElement).backgroundColor',
    );
    expect(background).toBe('rgb(17, 20, 24)');
    await screenshot(dark, driver, 'overview-dark');
    await tab?.close();

    const phone = await signedIn({ viewport: PHONE, isMobile: true, hasTouch: true });
    await phone.goto(`${server.url}/console`);
    await expect.poll(() => seriesPixels(phone, 'Success rate')).toBeGreaterThan(20);
    const overflow = await phone.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBe(0);
    await screenshot(phone, driver, 'overview-phone');
  });

  it('opens a generation that fell back and shows both attempts in its timeline', async () => {
    const { server, fallbackRequest } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console/generations`);
    await page.getByLabel('Fallback used').selectOption('true');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/fallback_used=true/);
    await screenshot(page, driver, 'generations', { fullPage: false });
    await page.locator(`a[href="/console/generations/${fallbackRequest}"]`).click();
    await page.waitForURL(`${server.url}/console/generations/${fallbackRequest}`);

    // openai answers 503 to each of its tries (with backoff between them), then custom answers.
    const attempts = page.locator('ol.timeline > li');
    await expect.poll(() => attempts.count()).toBeGreaterThanOrEqual(2);
    const entries = await attempts.allTextContents();
    expect(entries[0]).toMatch(/Attempt 1: openai.*failed.*HTTP 503/);
    expect(entries.at(-1)).toMatch(new RegExp(`Attempt ${entries.length}: custom.*succeeded`));
    for (const entry of entries.slice(1, -1))
      expect(entry).toMatch(/waited .* before this attempt/);
    const fields = await page.locator('dl.fields').first().textContent();
    expect(fields).toMatch(/Fallback usedyes, to custom/);
    expect(fields).toMatch(/Prompt template version\S+/);
    await screenshot(page, driver, 'generation');
  });

  it('pages through generations (Next shows other rows, Previous brings them back) and follows new ones live', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console/generations?limit=5&recipe=gateway`);
    expect(await generationRows(page)).toHaveLength(5);
    // The first page follows new generations by itself.
    const fresh = await server.generate();
    await expect
      .poll(async () => (await generationRows(page))[0], { timeout: 12_000 })
      .toBe(`/console/generations/${fresh}`);
    const first = await generationRows(page);

    await page.getByRole('link', { name: 'Next →' }).click();
    await page.waitForURL(/cursor=/);
    await expect.poll(async () => (await generationRows(page))[0]).not.toBe(first[0]);
    const second = await generationRows(page);
    expect(second).toHaveLength(5);
    expect(second.filter((href) => first.includes(href))).toEqual([]);

    await page.getByRole('link', { name: 'Next →' }).click();
    await expect.poll(async () => (await generationRows(page))[0]).not.toBe(second[0]);
    await page.getByRole('link', { name: '← Previous' }).click();
    await expect.poll(() => generationRows(page)).toEqual(second);
    await page.getByRole('link', { name: '← Previous' }).click();
    await expect.poll(() => generationRows(page)).toEqual(first);
    expect(page.url()).not.toMatch(/cursor=/);
  });

  it('retries a failed job and shows its new status', async () => {
    const { server, failedJobs } = use();
    const [job] = failedJobs;
    const page = await signedIn();
    await page.goto(`${server.url}/console/jobs`);
    const retry = page.getByRole('button', { name: `Retry job ${job}` });
    await retry.waitFor();
    await screenshot(page, driver, 'jobs');
    await retry.click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/queued again: now pending/);
    await expect.poll(() => retry.count()).toBe(0);
    const { rows } = await server.db.query<{ status: string }>(
      'select status from public.ai_generations where id = $1',
      [job],
    );
    expect(rows[0]?.status).toBe('pending');
  });

  it('changes a provider weight, refuses a second default, and shows both in the rollout log', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console/providers`);
    await page.getByRole('button', { name: 'Make default custom' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/openai is already the default in prod/);
    // The browser reports the refused request itself; the refusal is what this step expects.
    tab!.errors = tab!.errors.filter((error) => !/status of 409/.test(error));

    const weight = page.getByLabel('Weight of custom');
    const previous = await weight.inputValue();
    await weight.fill('35');
    await page.locator('tr', { has: weight }).getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/Weight of custom set to 35 in prod \(rollout log #\d+\)/);
    await expect.poll(() => weight.inputValue()).toBe('35');
    await screenshot(page, driver, 'providers');

    await page.getByRole('link', { name: 'See the rollout log →' }).click();
    await page.waitForURL(/\/console\/rollouts\?environment=prod/);
    const newest = page.locator('section[aria-labelledby="rollouts-log"] tbody tr').first();
    await expect
      .poll(() => newest.textContent())
      .toMatch(new RegExp(`provider update.*custom: weight ${previous} → 35`));

    await page.getByRole('button', { name: 'Verify' }).click();
    const checks = page.locator('table', {
      has: page.locator('caption', { hasText: 'Checks of prod' }),
    });
    await expect.poll(() => checks.locator('tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => newest.textContent()).toMatch(/verify/);
  });

  it('shows a canary on the rollouts page: its state, its steps and a check against the thresholds', async () => {
    const { server } = use();
    const { db } = server;
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [5, 25, 50, 100], intervalMs: 3_600_000 }),
      operator: 'console-test',
    });
    // Eight first tries to the candidate, one of which fell back: a failed check that holds.
    await recordFirstTries(db, 'custom', 7);
    await recordFirstTries(db, 'custom', 1, { fallbackUsed: true });
    await recordFirstTries(db, 'openai', 20);
    await makeDue(db, run.id);
    const [due] = await selectDueRuns(db);
    // The server's own controller may take the check first; either way there is one.
    if (due) await new CanaryController({ db }).check(due);

    const page = await signedIn();
    await page.goto(`${server.url}/console/rollouts?environment=prod`);
    const panel = page.locator('section[aria-labelledby="rollouts-canary"]');
    await expect
      .poll(() => panel.locator('.verdict').textContent())
      .toMatch(/custom at 5 % of first tries\s*progressing/);
    const steps = panel.getByRole('list', { name: 'Weight of the candidate at each step' });
    expect(await steps.locator('li').allTextContents()).toEqual([
      '5 % (current step)',
      '25 %',
      '50 %',
      '100 %',
    ]);
    await expect(steps.locator('li[aria-current="step"]').textContent()).resolves.toMatch(/^5 %/);
    const check = panel.locator('tbody tr').first();
    await expect.poll(() => check.textContent()).toMatch(/12\.5 %\s*\/ max 5\.0 %/);
    await expect(check.textContent()).resolves.toMatch(/8\s*\/ 5[\s\S]*failed\s*hold/);
    await screenshot(page, driver, 'rollouts');

    await abortCanary(db, { environment: 'prod', operator: 'console-test' });
    await expect
      .poll(() => panel.textContent(), { timeout: 12_000 })
      .toMatch(/aborted by console-test at 5%/);
  });

  it('shows spend per provider, the top users and the budgets on the overview', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console`);
    const spend = page.locator('section[aria-labelledby="overview-spend"]');
    const spent = spend.locator('.stat', { hasText: 'Spent' }).locator('dd');
    await expect.poll(() => spent.textContent()).toMatch(/^\$\d+\.\d{4}$/);
    expect(Number((await spent.textContent())!.slice(1))).toBeGreaterThanOrEqual(1.2);
    const providers = spend.locator('table', {
      has: page.locator('caption', { hasText: 'Spend per provider' }),
    });
    expect(await providers.locator('tbody th').allTextContents()).toEqual(
      expect.arrayContaining(['openai', 'custom', 'openrouter']),
    );
    const top = spend.locator('table', {
      has: page.locator('caption', { hasText: 'The users who spent most' }),
    });
    const first = top.locator('tbody tr').first();
    await expect(first.locator('a').getAttribute('title')).resolves.toBe(BIG_SPENDER);
    await expect(first.textContent()).resolves.toMatch(/\$5\.0000 a month/);
    const budgets = page.locator('section[aria-labelledby="overview-budgets"]');
    await expect(budgets.locator('tbody tr').first().textContent()).resolves.toMatch(
      /free\s*\$0\.5000 a day/,
    );
    await expect(spend.textContent()).resolves.toMatch(/from the rollups/);
    // A week is summed from the rollups too, and its top users count whole UTC days: the page
    // says so unless the week happens to start at midnight UTC (in the first hour of a UTC day).
    const range = spend.locator('p.small').first();
    const rangeStart = async () => (await range.textContent())!.split(' to ')[0];
    const dayStart = await rangeStart();
    const week = page.waitForResponse((response) => response.url().includes('/spend?window=7d'));
    await page.getByLabel('Window').selectOption('7d');
    await page.waitForURL(/window=7d/);
    const { from, users_from: usersFrom } = (await (await week).json()) as Spend;
    await expect.poll(rangeStart).not.toBe(dayStart);
    await expect(range.textContent()).resolves.toMatch(/from the rollups/);
    if (usersFrom === from) {
      expect(from).toMatch(/T00:00:00\.000Z$/);
      await expect(spend.textContent()).resolves.not.toMatch(/whole days/);
    } else {
      expect(usersFrom).toBe(`${from.slice(0, 10)}T00:00:00.000Z`);
      await expect(spend.textContent()).resolves.toMatch(/Since .*whole days of the window/);
    }
    expect(Number((await spent.textContent())!.slice(1))).toBeGreaterThanOrEqual(1.2);
    await page.getByLabel('Window').selectOption('1h');
    await expect.poll(() => spend.textContent()).toMatch(/from the telemetry rows/);
  });

  it('says when an environment has no generations, in place of the cache hit rate chart', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console?environment=staging`);
    const chart = page.locator('figure.chart', { hasText: 'Cache hit rate' });
    await expect
      .poll(() => chart.textContent())
      .toMatch(/No generations recorded for staging in this window/);
    await expect(
      page.locator('.stat', { hasText: 'Cache hit rate (staging)' }).locator('dd').textContent(),
    ).resolves.toBe('—');
  });

  it('gathers a page of filters that are rare together from several searches, newest first', async () => {
    const { server } = use();
    const page = await signedIn();
    // custom and site are each common in the seeded day and rare together, and neither has a
    // partial index: one request of the test server (40 rows) searches about three hours.
    const { rows } = await server.db.query<{ request_id: string }>(
      `select request_id from public.ai_training_examples
        where selected_provider = 'custom' and recipe = 'site'
        order by created_at desc, id desc`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(10);
    const searches: string[] = [];
    page.on('request', (sent) => {
      if (sent.url().includes('/api/v1/admin/generations?')) searches.push(sent.url());
    });
    await page.goto(`${server.url}/console/generations?provider=custom&recipe=site`);
    await expect
      .poll(() => generationRows(page))
      .toEqual(rows.map((row) => `/console/generations/${row.request_id}`));
    // Asked again from where each search stopped.
    expect(searches.filter((url) => url.includes('cursor=')).length).toBeGreaterThan(2);
    // The whole table was searched: nothing more to page to.
    expect(await page.locator('p[role="status"]').count()).toBe(0);
    await expect(page.getByText('Next →').getAttribute('aria-disabled')).resolves.toBe('true');
  });

  it('shows eval runs with their verdicts, failed gates and metric trends', async () => {
    const { server } = use();
    const page = await signedIn();
    await page.goto(`${server.url}/console/evals`);
    const rows = page.locator('section[aria-labelledby="evals-runs"] table tbody tr');
    await expect.poll(() => rows.count()).toBe(8);
    await expect.poll(() => rows.first().textContent()).toMatch(/failed.*schema_valid_rate_min/);
    await expect.poll(() => seriesPixels(page, 'schema valid rate')).toBeGreaterThan(20);
    await rows.first().getByRole('link').click();
    await page.waitForURL(/run=\d+/);
    await expect
      .poll(() => page.locator('section[aria-labelledby="evals-run"]').textContent())
      .toMatch(/schema_valid_rate_min: 80\.0 % \(threshold 90\.0 %\)/);
    await screenshot(page, driver, 'evals');
  });

  it('refuses a plain user token with a clear message and shows no data', async () => {
    const { server } = use();
    const page = await open();
    await page.goto(`${server.url}/console/sign-in`);
    await page.getByLabel('Access token').fill(await server.userToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/Sign-in failed \(403\): .*service_role/);
    await screenshot(page, driver, 'sign-in-refused');
    expect(page.url()).toMatch(/\/console\/sign-in$/);
    expect(await page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBeNull();
    await page.goto(`${server.url}/console/generations`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fconsole%2Fgenerations$/);
    expect(await page.locator('table').count()).toBe(0);
    // The browser reports the refused request itself; that is the expected answer here.
    tab!.errors = tab!.errors.filter((error) => !/status of 403/.test(error));
  });

  it('signs in with an API key', async () => {
    const { server } = use();
    const page = await open();
    await page.goto(`${server.url}/console/sign-in?next=%2Fconsole%2Fjobs`);
    await page.getByLabel('Access token').fill(CONSOLE_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/console/jobs`);
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
  });

  it('signs in with the one-time code of the console link, once, and drops it from the address', async () => {
    const { server } = use();
    const link = `${server.url}/console/sign-in?code=${server.signInCode.code}`;
    const page = await open();
    await page.goto(link);
    await page.waitForURL(`${server.url}/console`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // The address with the code was replaced, not added to: Back leaves the console.
    await page.goBack();
    expect(page.url()).toBe('about:blank');
    await tab?.close();

    const again = await open();
    await again.goto(link);
    await expect
      .poll(() => again.getByRole('alert').textContent())
      .toMatch(/the sign-in code is wrong, used or expired/);
    expect(again.url()).toBe(`${server.url}/console/sign-in`);
    tab!.errors = tab!.errors.filter((error) => !/status of 400/.test(error));
  });
});
