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

const MAX_CACHED_PEERS = 4096;

/** Config entries go through the same strict parser as policies; a non-canonical entry throws IpParseError. */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const ranges: Cidr[] = trustedProxies.map(parseCidr);
  const trusted = (ip: IpAddress) => inRanges(ip, ranges);
  // A broker sees few distinct socket peers (its proxies, or its clients' nodes): each is parsed once.
  const peers = new Map<string, { text: string; trusted: boolean } | undefined>();
  const peerOf = (address: string) => {
    if (peers.has(address)) return peers.get(address);
    const ip = parseIpAddress(address.trim());
    const peer = ip && { text: ip.toString(), trusted: trusted(ip) };
    if (peers.size >= MAX_CACHED_PEERS) peers.clear();
    peers.set(address, peer);
    return peer;
  };
  return (socketAddress, forwardedFor) => {
    const peer = socketAddress === undefined ? undefined : peerOf(socketAddress);
    if (!peer) return undefined;
    if (!peer.trusted || forwardedFor === undefined) return peer.text;
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseForwardedHop(hops[i] ?? "");
      if (!hop) return undefined;
      if (!trusted(hop)) return hop.toString();
    }
    // Every hop is a trusted proxy: the left-most is the first address the chain saw.
    const first = hops[0] === undefined ? undefined : parseForwardedHop(hops[0]);
    return first ? first.toString() : peer.text;
  };
}
