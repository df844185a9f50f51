import { describe, expect, it } from "vitest";
import { checkOutboundUrl, MAX_OUTBOUND_URL_LENGTH } from "../../../src/outbound/url-guard.ts";

const deployed = { allowLocalhost: false };
const local = { allowLocalhost: true };

function reason(url: string, policy = deployed): string | null {
  const check = checkOutboundUrl(url, policy);
  return check.ok ? null : check.reason;
}

describe("checkOutboundUrl", () => {
  it("accepts public https URLs", () => {
    for (const url of ["https://feeds.example.com/products.csv", "https://93.184.215.14/x", "https://[2606:4700::1111]/hook", "https://shop.example.co.uk:8443/a?b=c"]) {
      expect(reason(url), url).toBeNull();
    }
  });

  it("takes only https; http only to localhost, and only when local development allows it", () => {
    expect(reason("http://feeds.example.com/x")).toMatch(/only https URLs are accepted, not http/);
    expect(reason("ftp://feeds.example.com/x")).toMatch(/not ftp/);
    expect(reason("file:///etc/passwd")).toMatch(/not file/);
    expect(reason("https://localhost/x")).toMatch(/localhost is not reachable/);
    expect(reason("http://localhost:8787/x")).toMatch(/localhost is not reachable/);
    expect(reason("http://localhost:8787/x", local)).toBeNull();
    expect(reason("https://localhost/x", local)).toBeNull();
    // Only the name: other loopback spellings stay refused in local development too.
    expect(reason("http://127.0.0.1:8787/x", local)).toMatch(/loopback/);
    expect(reason("https://127.0.0.2/x", local)).toMatch(/loopback/);
  });

  it("refuses text that is not an absolute URL, credentials in the URL and overlong URLs", () => {
    expect(reason("feeds.example.com/x")).toMatch(/not an absolute URL/);
    expect(reason("https://user:pw@feeds.example.com/x")).toMatch(/credentials in the URL/);
    expect(reason(`https://feeds.example.com/${"a".repeat(MAX_OUTBOUND_URL_LENGTH)}`)).toMatch(/longer than/);
  });

  it("refuses every IPv4 range outside the public internet, in any spelling the URL parser accepts", () => {
    const refused: [string, RegExp][] = [
      ["https://0.0.0.0/", /this network/],
      ["https://10.1.2.3/", /private/],
      ["https://100.64.0.1/", /carrier-grade/],
      ["https://100.100.100.200/", /carrier-grade/], // Alibaba Cloud metadata
      ["https://127.0.0.1/", /loopback/],
      ["https://127.255.255.254/", /loopback/],
      ["https://169.254.169.254/latest/meta-data/", /link-local/],
      ["https://172.16.0.1/", /private/],
      ["https://172.31.255.255/", /private/],
      ["https://192.0.0.8/", /protocol assignment/],
      ["https://192.0.2.1/", /documentation/],
      ["https://192.168.1.1/", /private/],
      ["https://198.18.0.1/", /benchmarking/],
      ["https://224.0.0.1/", /multicast/],
      ["https://255.255.255.255/", /reserved/],
      ["https://2130706433/", /loopback/], // 127.0.0.1 as one number
      ["https://0x7f.1/", /loopback/],
      ["https://0177.0.0.1/", /loopback/],
      ["https://10.1/", /private/],
    ];
    for (const [url, why] of refused) expect(reason(url), url).toMatch(why);
    expect(reason("https://172.32.0.1/")).toBeNull();
    expect(reason("https://100.128.0.1/")).toBeNull();
  });

  it("refuses IPv6 loopback, private, link-local, multicast and addresses that carry a refused IPv4 address", () => {
    const refused: [string, RegExp][] = [
      ["https://[::1]/", /loopback/],
      ["https://[::]/", /unspecified/],
      ["https://[::ffff:127.0.0.1]/", /IPv4-mapped: a loopback/],
      ["https://[::ffff:169.254.169.254]/", /IPv4-mapped: a link-local/],
      ["https://[::127.0.0.1]/", /IPv4-compatible: a loopback/],
      ["https://[64:ff9b::10.0.0.1]/", /NAT64: a private/],
      ["https://[64:ff9b:1::5db8:d70e]/", /local-use NAT64/],
      ["https://[::ffff:0:127.0.0.1]/", /IPv4-translated: a loopback/],
      ["https://[2002:c0a8:0101::1]/", /6to4: a private/],
      ["https://[2001::1]/", /Teredo/],
      ["https://[2001:db8::1]/", /documentation/],
      ["https://[fc00::1]/", /unique-local/],
      ["https://[fd00:ec2::254]/", /unique-local/], // AWS metadata over IPv6
      ["https://[fe80::1]/", /link-local/],
      ["https://[fec0::1]/", /site-local/],
      ["https://[ff02::1]/", /multicast/],
      ["https://[100::1]/", /discard-only/],
    ];
    for (const [url, why] of refused) expect(reason(url), url).toMatch(why);
    expect(reason("https://[::ffff:93.184.215.14]/")).toBeNull();
  });

  it("refuses names that point inward by convention and single-label names", () => {
    for (const url of [
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://api.localhost/",
      "https://printer.local/",
      "https://db.corp/",
      "https://router.home.arpa/",
      "https://intranet/",
      "https://localhost./",
    ]) {
      expect(reason(url), url).toMatch(/names a local or internal network|localhost is not reachable/);
    }
  });
});
