import {
  type Cidr,
  type IpAddress,
  inRanges,
  parseCidr,
  parseForwardedHop,
  parseIpAddress,
} from "../util/ip.ts";

/**
 * The client address for `access.sourceCidrs` and audit: the socket peer, unless that peer is a configured trusted
 * proxy, in which case the right-most X-Forwarded-For entry that is not itself a trusted proxy. Without trusted
 * proxies the header is ignored, so a client cannot choose its own address. A hop that cannot be parsed makes the
 * client unknown (undefined), so every `sourceCidrs` check denies: falling back to the proxy's own address would
 * let anyone behind the proxy claim the proxy's network.
 */
export type ClientIpResolver = (
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
) => string | undefined;

/** Config entries go through the same strict parser as policies; a non-canonical entry throws IpParseError. */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const ranges: Cidr[] = trustedProxies.map(parseCidr);
  const trusted = (ip: IpAddress) => inRanges(ip, ranges);
  return (socketAddress, forwardedFor) => {
    const peer = socketAddress === undefined ? undefined : parseIpAddress(socketAddress.trim());
    if (!peer) return undefined;
    if (ranges.length === 0 || !trusted(peer) || forwardedFor === undefined) return peer.toString();
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseForwardedHop(hops[i] ?? "");
      if (!hop) return undefined;
      if (!trusted(hop)) return hop.toString();
    }
    // Every hop is a trusted proxy: the left-most is the first address the chain saw.
    const first = hops[0] === undefined ? undefined : parseForwardedHop(hops[0]);
    return (first ?? peer).toString();
  };
}
