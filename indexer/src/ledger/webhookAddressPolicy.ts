import ipaddr from "ipaddr.js";

/**
 * Which addresses webhook deliveries may reach. A merchant chooses the URL, so without this guard a webhook is a
 * way into the operator's network: the cloud's metadata service, the database, an admin port on localhost. Pure:
 * delivery.ts applies it to every address a hostname resolves to, at connect time, so that DNS rebinding (a name
 * public at creation, private at delivery) gains nothing.
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** CIDR ranges the operator allows even though they are not public (WEBHOOK_ALLOWED_CIDRS). */
export type AllowList = ReadonlyArray<readonly [Address, number]>;

export const NO_ALLOWED_RANGES: AllowList = [];

/** Addresses of cloud metadata services, named as such in refusals because they are the usual target. */
const METADATA_ADDRESSES = new Map<string, string>([
  ["169.254.169.254", "the cloud metadata service"],
  ["169.254.170.2", "the ECS task metadata service"],
  ["100.100.100.200", "Alibaba Cloud's metadata service"],
  ["fd00:ec2::254", "the EC2 metadata service (IPv6)"],
]);

const IPV4_REASONS: Record<string, string> = {
  unspecified: "unspecified (0.0.0.0/8)",
  broadcast: "broadcast",
  multicast: "multicast",
  linkLocal: "link-local",
  loopback: "loopback",
  carrierGradeNat: "carrier-grade NAT (100.64.0.0/10)",
  private: "private (RFC 1918)",
  reserved: "reserved",
  as112: "reserved (AS112)",
  amt: "reserved (AMT)",
  benchmarking: "reserved (benchmarking)",
};

const IPV6_REASONS: Record<string, string> = {
  unspecified: "unspecified (::)",
  linkLocal: "link-local",
  multicast: "multicast",
  loopback: "loopback",
  uniqueLocal: "unique-local (fc00::/7)",
  deprecatedSiteLocal: "site-local (fec0::/10)",
  discard: "reserved (discard prefix)",
  teredo: "reserved (Teredo)",
  benchmarking: "reserved (benchmarking)",
  amt: "reserved (AMT)",
  as112v6: "reserved (AS112)",
  deprecatedOrchid: "reserved (ORCHID)",
  orchid2: "reserved (ORCHIDv2)",
  droneRemoteIdProtocolEntityTags: "reserved (DRIP)",
  segmentRouting: "reserved (segment routing)",
  reserved: "reserved",
};

/** Parses an address, accepting an IPv6 zone (`fe80::1%eth0`) and rejecting what is not an address. */
function parseAddress(ip: string): Address | undefined {
  try {
    return ipaddr.parse(ip.trim());
  } catch {
    return undefined;
  }
}

/** The IPv4 address an IPv6 address carries on to IPv4 when routed: mapped, translated, NAT64, 6to4 or compatible. */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const parts = address.parts;
  const last32 = () => new ipaddr.IPv4([parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff]);
  switch (address.range()) {
    case "ipv4Mapped": // ::ffff:a.b.c.d
    case "rfc6145": // ::ffff:0:a.b.c.d
    case "rfc6052": // 64:ff9b::a.b.c.d (NAT64)
      return last32();
    case "6to4": // 2002:aabb:ccdd::/48
      return new ipaddr.IPv4([parts[1] >> 8, parts[1] & 0xff, parts[2] >> 8, parts[2] & 0xff]);
    case "unicast":
      // ::a.b.c.d, the deprecated IPv4-compatible form (:: and ::1 are ranges of their own).
      return parts.slice(0, 6).every((part) => part === 0) ? last32() : undefined;
    default:
      return undefined;
  }
}

function allowed(address: Address, allowList: AllowList): boolean {
  return allowList.some(([range, bits]) => address.kind() === range.kind() && address.match(range, bits));
}

/**
 * Why a delivery must not connect to `ip`, or undefined when it may: anything but a public unicast address is
 * refused (private, loopback, link-local and the metadata service, unique-local, carrier-grade NAT, unspecified,
 * multicast, broadcast, reserved), and so is an IPv6 address that carries one of those on to IPv4. The operator's
 * allow-list wins over all of it.
 */
export function forbiddenReason(ip: string, allowList: AllowList = NO_ALLOWED_RANGES): string | undefined {
  const address = parseAddress(ip);
  if (!address) return `${ip} is not an IP address`;
  const text = address.toString();
  if (allowed(address, allowList)) return undefined;
  if (address.kind() === "ipv6") {
    const inner = embeddedIpv4(address as ipaddr.IPv6);
    if (inner) {
      if (allowed(inner, allowList)) return undefined;
      const reason = forbiddenReason(inner.toString(), NO_ALLOWED_RANGES);
      return reason ? `${text} leads to ${reason}` : undefined;
    }
  }
  const metadata = METADATA_ADDRESSES.get(text);
  if (metadata) return `${text} is ${metadata}`;
  const range = address.range();
  if (range === "unicast") return undefined;
  const reasons = address.kind() === "ipv4" ? IPV4_REASONS : IPV6_REASONS;
  return `${text} is ${reasons[range] ?? `not a public address (${range})`}`;
}

/**
 * The operator's allow-list from WEBHOOK_ALLOWED_CIDRS (or another `variable` of the same form): CIDRs separated by
 * commas (`127.0.0.1/32, 10.1.0.0/16`); a bare address means itself alone. Throws naming the entry that is not a CIDR.
 */
export function parseAllowList(text: string | undefined, variable = "WEBHOOK_ALLOWED_CIDRS"): AllowList {
  const ranges: Array<[Address, number]> = [];
  for (const entry of (text ?? "").split(",").map((part) => part.trim())) {
    if (entry === "") continue;
    try {
      if (entry.includes("/")) ranges.push(ipaddr.parseCIDR(entry));
      else {
        const address = ipaddr.parse(entry);
        ranges.push([address, address.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      throw new Error(`${variable}: "${entry}" is not a CIDR range (like 127.0.0.1/32 or fd00::/8)`);
    }
  }
  return ranges;
}

/** The longest webhook URL accepted: enough for any real endpoint, short enough to log and index. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Why `url` cannot be a webhook endpoint, or undefined when it can; for the API at creation time. Names that resolve
 * to forbidden addresses are caught at each delivery (DNS can change), but what is visibly wrong is refused here:
 * other schemes than http(s), credentials, fragments, localhost and forbidden IP literals (in any notation the URL
 * parser understands, `http://2130706433/` included).
 */
export function checkWebhookUrl(url: string, allowList: AllowList = NO_ALLOWED_RANGES): string | undefined {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters, got ${url.length}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `must use http or https, got ${parsed.protocol.replace(/:$/, "")}`;
  if (parsed.username || parsed.password) return "must not carry a user name or password (put credentials in a query parameter or rely on the signature)";
  if (url.includes("#")) return "must not have a fragment (#…): it is never sent to the server";
  const host = parsed.hostname.toLowerCase();
  if (host === "") return "must name a host";
  const name = host.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return `must not point at ${host}: deliveries cannot reach this gateway's own machine`;
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (ipaddr.isValid(literal)) {
    const reason = forbiddenReason(literal, allowList);
    if (reason) return `must not point at a non-public address: ${reason}`;
  }
  return undefined;
}
