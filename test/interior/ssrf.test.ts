import { createServer, type Server } from 'node:http';
import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AssetFetchError,
  type AssetFetchOptions,
  fetchAsset,
} from '../../src/storage/asset-fetch.ts';
import { rejectionOf } from '../helpers/errors.ts';
import { photo } from './fixtures.ts';
import { describeEachInteriorStack, json, ledger, orphanJob, waitForStatus } from './stack.ts';

/** Names resolve to the addresses a hostile DNS would give them. */
const HOSTILE_DNS: Record<string, { address: string; family: 4 | 6 }[]> = {
  'replicate.delivery': [{ address: '127.0.0.1', family: 4 }],
  'meta.replicate.delivery': [{ address: '169.254.169.254', family: 4 }],
  'mixed.replicate.delivery': [
    { address: '93.184.215.14', family: 4 },
    { address: '10.1.2.3', family: 4 },
  ],
  'v6.replicate.delivery': [{ address: '::ffff:192.168.0.10', family: 6 }],
  'ula.replicate.delivery': [{ address: 'fd00::1', family: 6 }],
};

const hostileLookup = ((
  hostname: string,
  options: { all?: boolean },
  callback: (...args: unknown[]) => void,
) => {
  const entries = HOSTILE_DNS[hostname];
  if (!entries) {
    callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return;
  }
  if (options.all) callback(null, entries);
  else callback(null, entries[0]!.address, entries[0]!.family);
}) as unknown as LookupFunction;

const ALLOWED = ['replicate.delivery', '*.replicate.delivery', '169.254.169.254', '127.0.0.1'];

describe('asset downloads refuse what could reach inside (fetchAsset)', () => {
  let server: Server;
  let origin = '';
  let png: Buffer;
  beforeAll(async () => {
    png = await photo('png', 32, 32);
    server = createServer((request, response) => {
      const port = (server.address() as { port: number }).port;
      switch (request.url) {
        case '/image.png':
          response.writeHead(200, { 'content-type': 'image/png' }).end(png);
          return;
        case '/same-host':
          response.writeHead(302, { location: '/image.png' }).end();
          return;
        case '/other-host':
          response.writeHead(302, { location: `http://localhost:${port}/image.png` }).end();
          return;
        case '/metadata':
          response.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
          return;
        case '/loop':
          response.writeHead(302, { location: '/loop' }).end();
          return;
        case '/html':
          response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
          return;
        case '/declared-big':
          response.writeHead(200, { 'content-type': 'image/png', 'content-length': '5000' });
          response.end(Buffer.alloc(5000));
          return;
        case '/streamed-big':
          response.writeHead(200, { 'content-type': 'image/png' });
          for (let i = 0; i < 5; i++) response.write(Buffer.alloc(1000));
          response.end();
          return;
        case '/busy':
          response.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
          return;
        default:
          response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const options = (extra: Partial<AssetFetchOptions> = {}): AssetFetchOptions => ({
    allowedHosts: ALLOWED,
    maxBytes: 4096,
    lookup: hostileLookup,
    ...extra,
  });

  async function refused(url: string, extra: Partial<AssetFetchOptions> = {}) {
    const error = await rejectionOf(fetchAsset(url, options(extra)));
    expect(error).toBeInstanceOf(AssetFetchError);
    return error as AssetFetchError;
  }

  it('only https, no credentials, no other schemes', async () => {
    expect((await refused(`${origin}/image.png`)).rule).toBe('scheme');
    expect((await refused('http://169.254.169.254/latest/meta-data/')).rule).toBe('scheme');
    expect((await refused('file:///etc/passwd')).rule).toBe('scheme');
    expect((await refused('ftp://replicate.delivery/x.png')).rule).toBe('scheme');
    expect((await refused('gopher://replicate.delivery:70/_x')).rule).toBe('scheme');
    expect((await refused('https://user:pw@replicate.delivery/x.png')).rule).toBe('scheme');
    expect((await refused('not a url')).rule).toBe('scheme');
  });

  it('only hosts on the allow-list (subdomain patterns do not match look-alikes)', async () => {
    expect((await refused('https://evil.example.com/x.png')).rule).toBe('host');
    expect((await refused('https://replicate.delivery.evil.com/x.png')).rule).toBe('host');
    expect((await refused('https://evilreplicate.delivery/x.png')).rule).toBe('host');
    expect((await refused('https://localhost/x.png')).rule).toBe('host');
  });

  it('no private, loopback or link-local address, as a literal or after DNS', async () => {
    expect((await refused('https://169.254.169.254/latest/meta-data/')).rule).toBe('address');
    expect((await refused('https://127.0.0.1/x.png')).rule).toBe('address');
    for (const host of Object.keys(HOSTILE_DNS)) {
      const error = await refused(`https://${host}/x.png`);
      expect(error.rule, host).toBe('address');
      expect(error.retryable, host).toBe(false);
    }
  });

  it('redirects: same host followed, another host refused (even a trusted origin)', async () => {
    const trusted = { trustedOrigins: [origin] };
    const same = await fetchAsset(`${origin}/same-host`, options(trusted));
    expect(same.bytes.equals(png)).toBe(true);
    expect(same.url).toBe(`${origin}/image.png`);
    expect((await refused(`${origin}/other-host`, trusted)).rule).toBe('redirect');
    expect((await refused(`${origin}/metadata`, trusted)).rule).toBe('redirect');
    expect((await refused(`${origin}/loop`, trusted)).rule).toBe('redirect');
  });

  it('size and content-type caps; 5xx is retryable, a refusal is not', async () => {
    const trusted = { trustedOrigins: [origin] };
    expect((await refused(`${origin}/declared-big`, trusted)).rule).toBe('size');
    expect((await refused(`${origin}/streamed-big`, trusted)).rule).toBe('size');
    expect((await refused(`${origin}/html`, trusted)).rule).toBe('content_type');
    const busy = await refused(`${origin}/busy`, trusted);
    expect(busy).toMatchObject({ rule: 'status', retryable: true });
    expect((await fetchAsset(`${origin}/image.png`, options(trusted))).contentType).toBe(
      'image/png',
    );
  });
});

describeEachInteriorStack(
  'interior: a prediction whose outputs point anywhere else stores nothing',
  (use) => {
    const hostile = [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'https://evil.example.com/output.png',
      'https://replicate.delivery/pbxt/output.png',
      'https://meta.replicate.delivery/latest/meta-data/',
      'file:///etc/passwd',
    ];
    for (const url of hostile) {
      it(`refuses ${url}: the job fails asset_rejected, is refunded, no render`, async () => {
        const stack = use();
        const job = await orphanJob(stack);
        const answer = await stack.postWebhook(
          JSON.stringify({ ...job.prediction, output: [url] }),
        );
        expect(answer.status).toBe(200);
        expect(await json(answer)).toEqual({ status: 'completed' });
        const view = await waitForStatus(stack, job.token, job.id);
        expect(view).toMatchObject({
          status: 'failed',
          error: {
            code: 'asset_rejected',
            message: 'the image provider returned an image that could not be accepted',
          },
          variants: [],
        });
        expect(JSON.stringify(view)).not.toContain(new URL(url).hostname || 'passwd');
        expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'refund:1']);
        expect(
          stack.storedFiles().filter((file) => file.startsWith(`renders/${job.userId}`)),
        ).toEqual([]);
      });
    }

    it('one good output beside a hostile one: nothing of either is kept', async () => {
      const stack = use();
      const job = await orphanJob(stack, { variants: 2 });
      const good = (job.prediction.output as string[])[0]!;
      const answer = await stack.postWebhook(
        JSON.stringify({
          ...job.prediction,
          output: [good, 'https://replicate.delivery/pbxt/second.png'],
        }),
      );
      expect(await json(answer)).toEqual({ status: 'completed' });
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view).toMatchObject({ status: 'failed', error: { code: 'asset_rejected' } });
      expect(
        stack.storedFiles().filter((file) => file.startsWith(`renders/${job.userId}`)),
      ).toEqual([]);
    });

    it('outputs beyond the variants asked for are not fetched at all', async () => {
      const stack = use();
      const job = await orphanJob(stack, { variants: 1 });
      const good = (job.prediction.output as string[])[0]!;
      const answer = await stack.postWebhook(
        JSON.stringify({
          ...job.prediction,
          output: [good, 'https://meta.replicate.delivery/latest/meta-data/'],
        }),
      );
      expect(await json(answer)).toEqual({ status: 'completed' });
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view.status).toBe('succeeded');
      expect(view.variants).toHaveLength(1);
    });
  },
  { assetLookup: hostileLookup },
);
