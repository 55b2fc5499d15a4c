import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccessError, compileAccess, zonedTime } from "../../src/policy/access.ts";
import { type AccessSpec, accessSchema } from "../../src/policy/schema.ts";

const spec = (input: unknown): AccessSpec => accessSchema.parse(input);
const at = (iso: string) => Date.parse(iso);
const NOON = at("2026-03-27T11:00:00Z");

describe("compileAccess: sourceCidrs", () => {
  const access = compileAccess(
    spec({ sourceCidrs: ["10.0.0.0/8", "192.168.1.7", "2001:db8:abcd::/48", "::ffff:172.16.0.0/108"] }),
  );
  const check = (sourceIp: string | undefined) => {
    const [result, ...rest] = access.check({ sourceIp, now: NOON });
    assert.equal(rest.length, 0);
    assert.ok(result);
    assert.equal(result.check, "access.sourceCidrs");
    return result;
  };

  const cases: Array<{ ip: string | undefined; ok: boolean; message?: RegExp }> = [
    { ip: "10.1.2.3", ok: true },
    { ip: "10.255.255.255", ok: true },
    { ip: "11.0.0.1", ok: false, message: /outside the allowed ranges/ },
    { ip: "192.168.1.7", ok: true }, // a bare address is a /32
    { ip: "192.168.1.8", ok: false },
    // Node's dual-stack sockets report IPv4 clients as IPv4-mapped IPv6.
    { ip: "::ffff:10.1.2.3", ok: true },
    { ip: "::FFFF:10.1.2.3", ok: true },
    { ip: "::ffff:11.1.2.3", ok: false },
    { ip: "::ffff:0a01:0203", ok: true }, // the same address in hex
    // A mapped range in the config is the IPv4 range 172.16.0.0/12.
    { ip: "172.16.5.4", ok: true },
    { ip: "172.32.0.1", ok: false },
    { ip: "2001:db8:abcd:12::1", ok: true },
    { ip: "2001:DB8:ABCD:ffff:ffff:ffff:ffff:ffff", ok: true },
    { ip: "2001:db8:abce::1", ok: false },
    { ip: "fe80::1%eth0", ok: false },
    // An IPv6 address never matches an IPv4 range, even with the same bits.
    { ip: "a01:203::", ok: false },
    { ip: undefined, ok: false, message: /unknown/ },
    { ip: "", ok: false, message: /unknown/ },
    { ip: "not-an-ip", ok: false, message: /not a valid IP address/ },
    // ipaddr.js alone would read these as 10.0.0.1 and octal 8.1.2.3; neither is a canonical address.
    { ip: "10.1", ok: false, message: /not a valid IP address/ },
    { ip: "010.1.2.3", ok: false, message: /not a valid IP address/ },
    { ip: "0x0a.1.2.3", ok: false, message: /not a valid IP address/ },
  ];
  for (const c of cases) {
    it(`${c.ip === undefined ? "(unknown)" : JSON.stringify(c.ip)} → ${c.ok ? "allow" : "deny"}`, () => {
      const r = check(c.ip);
      assert.equal(r.ok, c.ok);
      if (c.message) assert.match(r.message ?? "", c.message);
      if (!c.ok && c.ip)
        assert.ok(!(r.message ?? "").includes(c.ip), "the message must not echo the address");
    });
  }

  it("matches everything with /0 of the same family", () => {
    const all4 = compileAccess(spec({ sourceCidrs: ["0.0.0.0/0"] }));
    assert.equal(all4.check({ sourceIp: "203.0.113.9", now: NOON })[0]?.ok, true);
    assert.equal(all4.check({ sourceIp: "::ffff:203.0.113.9", now: NOON })[0]?.ok, true);
    assert.equal(all4.check({ sourceIp: "2001:db8::1", now: NOON })[0]?.ok, false);
  });

  const invalid: Array<{ cidr: string; error: RegExp }> = [
    { cidr: "10.0.0.0/33", error: /invalid prefix length/ },
    { cidr: "2001:db8::/129", error: /invalid prefix length/ },
    { cidr: "10.0.0.0/", error: /invalid prefix length/ },
    { cidr: "10.0.0.0/8/8", error: /invalid prefix length/ },
    { cidr: "10.0.0.0/-1", error: /invalid prefix length/ },
    { cidr: "::ffff:10.0.0.0/64", error: /invalid prefix length/ },
    { cidr: "10.0.0/8", error: /not an IPv4 or IPv6 address/ },
    { cidr: "010.0.0.0/8", error: /not an IPv4 or IPv6 address/ },
    { cidr: "example.com/24", error: /not an IPv4 or IPv6 address/ },
    { cidr: "10.1.2.3/8", error: /host bits set; the network is 10\.0\.0\.0\/8/ },
    { cidr: "2001:db8::1/32", error: /host bits set; the network is 2001:db8::\/32/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.cidr} at compile time`, () => {
      assert.throws(
        () => compileAccess(spec({ sourceCidrs: [c.cidr] })),
        (e: unknown) => e instanceof AccessError && c.error.test(e.message),
      );
    });
  }
});

describe("compileAccess: schedule", () => {
  const office = compileAccess(
    spec({
      schedule: {
        timezone: "Europe/Berlin",
        days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
        from: "07:00",
        to: "19:00",
      },
    }),
  );
  // Europe/Berlin: CET (UTC+1) until Sunday 2026-03-29 01:00 UTC, CEST (UTC+2) after.
  const cases: Array<{ name: string; at: string; ok: boolean }> = [
    { name: "Fri 07:00 CET, from is inclusive", at: "2026-03-27T06:00:00Z", ok: true },
    { name: "Fri 06:59 CET", at: "2026-03-27T05:59:00Z", ok: false },
    { name: "Fri 18:59 CET", at: "2026-03-27T17:59:59Z", ok: true },
    { name: "Fri 19:00 CET, to is exclusive", at: "2026-03-27T18:00:00Z", ok: false },
    { name: "Sat 12:00 CET, not a listed day", at: "2026-03-28T11:00:00Z", ok: false },
    // After the change the same wall-clock hours are one hour earlier in UTC; a fixed offset gets these wrong.
    { name: "Mon 07:00 CEST", at: "2026-03-30T05:00:00Z", ok: true },
    { name: "Mon 06:30 CEST (07:30 had the offset not changed)", at: "2026-03-30T04:30:00Z", ok: false },
    { name: "Mon 18:30 CEST (17:30 had the offset not changed)", at: "2026-03-30T16:30:00Z", ok: true },
    { name: "Mon 19:30 CEST (18:30 had the offset not changed)", at: "2026-03-30T17:30:00Z", ok: false },
    { name: "Mon 00:30 CEST is still Sunday in UTC", at: "2026-03-29T22:30:00Z", ok: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [r] = office.check({ sourceIp: undefined, now: at(c.at) });
      assert.ok(r);
      assert.equal(r.check, "access.schedule");
      assert.equal(r.ok, c.ok, JSON.stringify(r));
    });
  }

  it("says where in the week the clock is when it denies", () => {
    const [r] = office.check({ sourceIp: undefined, now: at("2026-03-28T11:00:00Z") });
    assert.deepEqual(r, {
      check: "access.schedule",
      ok: false,
      message: "Sat 12:00 Europe/Berlin is outside the schedule",
    });
  });

  describe("a window that crosses midnight belongs to the day it starts on", () => {
    const night = compileAccess(
      spec({ schedule: { timezone: "Europe/Berlin", days: ["Fri"], from: "22:00", to: "06:00" } }),
    );
    const cases: Array<{ name: string; at: string; ok: boolean }> = [
      { name: "Fri 21:59", at: "2026-03-27T20:59:00Z", ok: false },
      { name: "Fri 22:00", at: "2026-03-27T21:00:00Z", ok: true },
      { name: "Fri 23:59", at: "2026-03-27T22:59:00Z", ok: true },
      { name: "Sat 00:00", at: "2026-03-27T23:00:00Z", ok: true },
      { name: "Sat 05:59", at: "2026-03-28T04:59:00Z", ok: true },
      { name: "Sat 06:00", at: "2026-03-28T05:00:00Z", ok: false },
      { name: "Sat 23:00 (Saturday is not listed)", at: "2026-03-28T22:00:00Z", ok: false },
      { name: "Fri 03:00 (Thursday night is not listed)", at: "2026-03-27T02:00:00Z", ok: false },
    ];
    for (const c of cases) {
      it(c.name, () => assert.equal(night.check({ sourceIp: undefined, now: at(c.at) })[0]?.ok, c.ok));
    }
  });

  describe("the night the clocks spring forward", () => {
    // Saturday 2026-03-28 22:00 CET to Sunday 06:00 CEST is seven real hours; 02:00–02:59 never happens.
    const night = compileAccess(
      spec({ schedule: { timezone: "Europe/Berlin", days: ["Sat"], from: "22:00", to: "06:00" } }),
    );
    const cases: Array<{ name: string; at: string; ok: boolean }> = [
      { name: "Sun 01:59 CET", at: "2026-03-29T00:59:00Z", ok: true },
      { name: "Sun 03:00 CEST, one UTC minute later", at: "2026-03-29T01:00:00Z", ok: true },
      { name: "Sun 05:59 CEST", at: "2026-03-29T03:59:00Z", ok: true },
      { name: "Sun 06:00 CEST (05:00 had the offset not changed)", at: "2026-03-29T04:00:00Z", ok: false },
    ];
    for (const c of cases) {
      it(c.name, () => assert.equal(night.check({ sourceIp: undefined, now: at(c.at) })[0]?.ok, c.ok));
    }
    it("a window starting inside the missing hour opens when the clock reaches it", () => {
      const gap = compileAccess(
        spec({ schedule: { timezone: "Europe/Berlin", days: ["Sun"], from: "02:30", to: "04:00" } }),
      );
      assert.equal(gap.check({ sourceIp: undefined, now: at("2026-03-29T00:59:00Z") })[0]?.ok, false); // 01:59 CET
      assert.equal(gap.check({ sourceIp: undefined, now: at("2026-03-29T01:00:00Z") })[0]?.ok, true); // 03:00 CEST
    });
  });

  it("defaults: every day, from midnight, to the end of the day", () => {
    const allDay = compileAccess(spec({ schedule: { timezone: "America/New_York" } }));
    const evening = compileAccess(spec({ schedule: { timezone: "America/New_York", from: "18:00" } }));
    const morning = compileAccess(spec({ schedule: { timezone: "America/New_York", to: "09:00" } }));
    const t = (iso: string) => ({ sourceIp: undefined, now: at(iso) });
    assert.equal(allDay.check(t("2026-03-29T03:59:00Z"))[0]?.ok, true);
    assert.equal(evening.check(t("2026-03-28T03:59:00Z"))[0]?.ok, true); // Fri 23:59 EDT
    assert.equal(evening.check(t("2026-03-28T04:00:00Z"))[0]?.ok, false); // Sat 00:00 EDT
    assert.equal(morning.check(t("2026-03-28T04:00:00Z"))[0]?.ok, true); // Sat 00:00 EDT
    assert.equal(morning.check(t("2026-03-28T13:00:00Z"))[0]?.ok, false); // Sat 09:00 EDT
  });

  it("an unknown time denies", () => {
    assert.equal(office.check({ sourceIp: undefined, now: Number.NaN })[0]?.ok, false);
  });

  const invalid: Array<{ schedule: unknown; error: RegExp }> = [
    { schedule: { timezone: "Europe/Berlni" }, error: /unknown time zone "Europe\/Berlni"/ },
    { schedule: { timezone: "CEST+1" }, error: /unknown time zone/ },
    { schedule: { timezone: "UTC", from: "08:00", to: "08:00" }, error: /from and to are both 08:00/ },
    { schedule: { timezone: "UTC", to: "00:00" }, error: /from and to are both 00:00/ },
  ];
  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.schedule)} at compile time`, () => {
      assert.throws(
        () => compileAccess(spec({ schedule: c.schedule })),
        (e: unknown) => e instanceof AccessError && c.error.test(e.message),
      );
    });
  }
});

describe("compileAccess: several rules", () => {
  it("returns one result per configured rule, in order", () => {
    const both = compileAccess(
      spec({
        sourceCidrs: ["10.0.0.0/8"],
        schedule: { timezone: "UTC", days: ["Fri"], from: "09:00", to: "17:00" },
      }),
    );
    assert.deepEqual(
      both.check({ sourceIp: "10.0.0.1", now: NOON }).map((r) => [r.check, r.ok]),
      [
        ["access.sourceCidrs", true],
        ["access.schedule", true],
      ],
    );
    assert.deepEqual(
      both.check({ sourceIp: "8.8.8.8", now: at("2026-03-28T11:00:00Z") }).map((r) => [r.check, r.ok]),
      [
        ["access.sourceCidrs", false],
        ["access.schedule", false],
      ],
    );
    assert.deepEqual(compileAccess(spec({})).check({ sourceIp: undefined, now: NOON }), []);
  });
});

describe("zonedTime", () => {
  it("reads the wall clock through Intl, DST included", () => {
    assert.deepEqual(zonedTime(at("2026-03-29T00:59:59.250Z"), "Europe/Berlin"), {
      year: 2026,
      month: 3,
      day: 29,
      hour: 1,
      minute: 59,
      second: 59,
      millisecond: 250,
      weekday: 0,
    });
    assert.equal(zonedTime(at("2026-03-29T01:00:00Z"), "Europe/Berlin").hour, 3);
    assert.equal(zonedTime(at("2026-03-29T01:00:00Z"), "Asia/Kathmandu").minute, 45);
  });

  it("throws RangeError for an unknown zone", () => {
    assert.throws(() => zonedTime(0, "Nowhere/Special"), RangeError);
  });
});
