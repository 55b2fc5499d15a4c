import ipaddr from "ipaddr.js";

/**
 * The one strict parser of addresses and CIDRs: policies (`access.sourceCidrs`), the config (`trustedProxies`),
 * socket peers and X-Forwarded-For hops all go through it, so no two places can read the same text differently.
 */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type Cidr = readonly [IpAddress, number];

export class IpParseError extends Error {
  override name = "IpParseError";
}

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

const PREFIX = /^(0|[1-9]\d{0,2})$/;

/**
 * An address or `address/prefix`, canonical only: a strict address (above), a decimal prefix without leading
 * zeros, and no host bits set (10.1.2.3/8 is ambiguous: a host? a network?). A bare address is its /32 or /128.
 * Throws IpParseError naming what is wrong.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const addr = parseIpAddress(addrText);
  if (!addr)
    throw new IpParseError(
      `"${text}" is not an IPv4 or IPv6 address or CIDR (IPv4 as four decimal parts without leading zeros)`,
    );
  const max = addr.kind() === "ipv4" ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!PREFIX.test(prefixText)) throw new IpParseError(`"${text}" has an invalid prefix length`);
    // A mapped range (::ffff:10.0.0.0/104) was parsed as IPv4 above: its prefix counts the IPv6 bits.
    prefix = Number(prefixText) - (addr.kind() === "ipv4" && addrText.includes(":") ? 96 : 0);
  }
  if (prefix < 0 || prefix > max) throw new IpParseError(`"${text}" has an invalid prefix length`);
  const network = networkAddress(addr, prefix);
  if (network.toString() !== addr.toString()) {
    throw new IpParseError(`"${text}" has host bits set; the network is ${network.toString()}/${prefix}`);
  }
  return [addr, prefix];
}

function networkAddress(addr: IpAddress, prefix: number): IpAddress {
  const masked = addr.toByteArray().map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return ipaddr.fromByteArray(masked);
}

/** True when `addr` lies in one of `ranges` (an IPv4 address never matches an IPv6 range, and back). */
export function inRanges(addr: IpAddress, ranges: readonly Cidr[]): boolean {
  return ranges.some(([net, prefix]) => net.kind() === addr.kind() && addr.match(net, prefix));
}

const PORT = /^\d{1,5}$/;
const validPort = (p: string) => PORT.test(p) && Number(p) <= 65535;

/**
 * One X-Forwarded-For hop as proxies write it, where unambiguous: a bare address, `IPv4:port` (some load
 * balancers append the client port) or `[IPv6]:port` (RFC 3986 §3.2.2 brackets). Anything else — `unknown`,
 * an obfuscated identifier (RFC 7239 §6.3), a bare `[v6]`, a non-canonical `010.0.0.1`, junk — is undefined:
 * the caller must treat the client as unknown, never fall back to another address.
 */
export function parseForwardedHop(hop: string): IpAddress | undefined {
  const text = hop.trim();
  const bracketed = /^\[([^\]]+)\]:([^:]+)$/.exec(text);
  if (bracketed) {
    const [, inner = "", port = ""] = bracketed;
    return validPort(port) && ipaddr.IPv6.isValid(inner) ? parseIpAddress(inner) : undefined;
  }
  const v4port = /^([0-9.]+):([^:]+)$/.exec(text);
  if (v4port) {
    const [, inner = "", port = ""] = v4port;
    return validPort(port) && ipaddr.IPv4.isValidFourPartDecimal(inner) ? parseIpAddress(inner) : undefined;
  }
  return parseIpAddress(text);
}
