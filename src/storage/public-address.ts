import { BlockList, isIP } from 'node:net';

/**
 * Address ranges a server-side fetch must never reach: unspecified, loopback, private (RFC
 * 1918, unique-local), carrier-grade NAT, link-local (cloud metadata at 169.254.169.254),
 * documentation, benchmarking, multicast and reserved ranges, and the IPv6 prefixes that embed
 * IPv4 addresses.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

/**
 * True when `address` (an IP literal) is a public unicast address. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`) are judged by their IPv4 part; anything that is not an IP is not public.
 */
export function isPublicAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) return !BLOCKED.check(address, 'ipv4');
  if (version !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:')) return false;
  return !BLOCKED.check(address, 'ipv6');
}
