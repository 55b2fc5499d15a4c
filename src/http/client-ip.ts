import ipaddr from "ipaddr.js";
import { parseIpAddress } from "../util/ip.ts";

/**
 * The client address for `access.sourceCidrs` and audit: the socket peer, unless that peer is a configured trusted
 * proxy, in which case the right-most X-Forwarded-For entry that is not itself a trusted proxy. Without trusted
 * proxies the header is ignored, so a client cannot choose its own address.
 */
export type ClientIpResolver = (
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
) => string | undefined;

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const normalize = (address: string) => parseIpAddress(address.trim());

export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const cidrs: Cidr[] = trustedProxies.map((c) =>
    c.includes("/") ? ipaddr.parseCIDR(c) : [ipaddr.parse(c), ipaddr.parse(c).kind() === "ipv4" ? 32 : 128],
  );
  const trusted = (ip: ipaddr.IPv4 | ipaddr.IPv6) =>
    cidrs.some(([range, bits]) => ip.kind() === range.kind() && ip.match([range, bits] as never));
  return (socketAddress, forwardedFor) => {
    const peer = socketAddress === undefined ? undefined : normalize(socketAddress);
    if (!peer) return undefined;
    if (cidrs.length === 0 || !trusted(peer) || !forwardedFor) return peer.toString();
    const hops = forwardedFor.split(",").map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i] ?? "");
      if (!hop) return peer.toString();
      if (!trusted(hop)) return hop.toString();
    }
    return peer.toString();
  };
}
