import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Strict parsing: IPv4 only as four decimal parts without leading zeros (ipaddr.js would otherwise read
 * `010.0.0.1` as octal and `10.1` as 10.0.0.1). An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, as a dual-stack
 * Node socket reports IPv4 clients) is the IPv4 address.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}
