// The one check every URL a tenant chooses passes before the Worker sends anything to it (webhook endpoints, feeds),
// at registration and again for every redirect target. It refuses on the URL's text alone, before any connection:
// Workers cannot resolve a name first, so names that only point inward by convention (localhost, *.internal, …) are
// refused by name, and every literal address outside the public internet by range. The deployed runtime does not route
// to private networks either; this guard is what makes that hold wherever the Worker runs (wrangler dev, tests).
import type { Env } from "../config.ts";

export interface OutboundPolicy {
  /** `http://localhost` allowed: local development and tests only (ALLOW_LOCALHOST_URLS), never deployed. */
  allowLocalhost: boolean;
}

export function outboundPolicy(env: Env): OutboundPolicy {
  return { allowLocalhost: env.ALLOW_LOCALHOST_URLS === "true" };
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** The longest URL accepted; longer ones are refused rather than stored or sent. */
export const MAX_OUTBOUND_URL_LENGTH = 2048;

/** Names that point inside a network by convention or by cloud metadata services. */
const inwardSuffixes = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp", ".localdomain"];
const inwardNames = new Set(["localhost", "localhost.localdomain", "metadata", "metadata.google.internal", "instance-data"]);

export function checkOutboundUrl(raw: string, policy: OutboundPolicy): UrlCheck {
  if (raw.length > MAX_OUTBOUND_URL_LENGTH) return refuse(`the URL is longer than ${MAX_OUTBOUND_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("it is not an absolute URL");
  }
  if (url.username || url.password) return refuse("credentials in the URL are not accepted (a feed takes them in `credentials`)");
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse(`only https URLs are accepted, not ${url.protocol.replace(/:$/, "")}`);
  const host = url.hostname.toLowerCase();
  if (host === "localhost") return policy.allowLocalhost ? { ok: true, url } : refuse("localhost is not reachable from the API");
  const where = hostRefusal(host);
  if (where) return refuse(where);
  if (url.protocol !== "https:") return refuse("only https URLs are accepted, not http");
  return { ok: true, url };
}

/** Why a host other than localhost is refused: an address outside the public internet, or a name that points inward. */
function hostRefusal(host: string): string | null {
  if (host.startsWith("[")) {
    const reason = ipv6Refusal(host.slice(1, -1));
    return reason && `the address ${host} is ${reason}`;
  }
  const v4 = parseIpv4(host);
  if (v4 !== null) {
    const reason = ipv4Refusal(v4);
    return reason && `the address ${host} is ${reason}`;
  }
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (!name.includes(".") || inwardNames.has(name) || inwardSuffixes.some((s) => name.endsWith(s))) return `the host ${host} names a local or internal network`;
  return null;
}

function refuse(reason: string): UrlCheck {
  return { ok: false, reason };
}

/** The URL parser has already normalised every IPv4 spelling (decimal, hex, octal, short forms) to dotted quads. */
function parseIpv4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

/** [first address, prefix length, what the range is] */
const ipv4Ranges: [string, number, string][] = [
  ["0.0.0.0", 8, "a local (\"this network\") address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (carrier-grade NAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address (cloud metadata services live here)"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol assignment"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a 6to4 relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

const v4Ranges = ipv4Ranges.map(([first, bits, what]) => ({ base: parseIpv4(first)!, mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0, what }));

export function ipv4Refusal(address: number): string | null {
  for (const r of v4Ranges) if (((address & r.mask) >>> 0) === r.base) return r.what;
  return null;
}

/** Eight 16-bit groups of a bracket-less IPv6 literal as the URL parser serialises it (compressed, no embedded dots). */
function parseIpv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const all = [...head, ...Array<number>(fill).fill(0), ...tail];
  return all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff) ? null : all;
}

export function ipv6Refusal(text: string): string | null {
  const g = parseIpv6(text.toLowerCase());
  if (!g) return "not an IPv6 address";
  const v4At = (i: number) => ((g[i]! << 16) | g[i + 1]!) >>> 0;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return "the unspecified address";
  if (zeros(0, 7) && g[7] === 1) return "a loopback address";
  // Addresses that carry an IPv4 address: judged by the address they carry.
  if (zeros(0, 5) && g[5] === 0xffff) return embedded(v4At(6), "IPv4-mapped");
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return embedded(v4At(6), "IPv4-translated");
  if (zeros(0, 6)) return embedded(v4At(6), "IPv4-compatible");
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded(v4At(6), "NAT64");
  // Local-use NAT64 (RFC 8215): translated by the operator's own network, whatever it carries.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "a local-use NAT64 address";
  if (g[0] === 0x2002) return embedded(v4At(1), "6to4");
  if (g[0] === 0x2001 && g[1] === 0) return "a Teredo address";
  if (g[0] === 0x2001 && g[1] === 0xdb8) return "a documentation address";
  if ((g[0]! & 0xfe00) === 0xfc00) return "a unique-local (private) address";
  if ((g[0]! & 0xffc0) === 0xfe80) return "a link-local address";
  if ((g[0]! & 0xffc0) === 0xfec0) return "a site-local address";
  if ((g[0]! & 0xff00) === 0xff00) return "a multicast address";
  if (g[0] === 0x100 && zeros(1, 4)) return "a discard-only address";
  return null;
}

function embedded(v4: number, how: string): string | null {
  const reason = ipv4Refusal(v4);
  return reason ? `${how}: ${reason}` : null;
}
