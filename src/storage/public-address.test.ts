import { describe, expect, it } from 'vitest';
import { hostAllowed } from './asset-fetch.ts';
import { isPublicAddress } from './public-address.ts';

describe('public address check', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.10',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:1',
    'not-an-ip',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('asset host allow-list', () => {
  const patterns = ['replicate.delivery', '*.replicate.delivery'];
  it.each([
    ['replicate.delivery', true],
    ['pbxt.replicate.delivery', true],
    ['a.b.replicate.delivery', true],
    ['evilreplicate.delivery', false],
    ['replicate.delivery.evil.com', false],
    ['example.com', false],
  ])('%s → %s', (host, allowed) => {
    expect(hostAllowed(host, patterns)).toBe(allowed);
  });

  it('a wildcard does not cover the apex', () => {
    expect(hostAllowed('replicate.delivery', ['*.replicate.delivery'])).toBe(false);
  });
});
