import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MYSQL_PRIVILEGES, parseMysqlGrant, renderGrantObject } from "../../src/policy/mysql-grant.ts";
import { policySchema } from "../../src/policy/schema.ts";

/** The MySQL grant grammar (CONTRACT §8): parsed at policy load; SQL is rendered from the value only. */
describe("MySQL grant grammar", () => {
  it("accepts object privileges on database.table and database.*", () => {
    assert.deepEqual(parseMysqlGrant("SELECT ON shop.*"), {
      privileges: ["SELECT"],
      database: "shop",
      table: undefined,
    });
    assert.deepEqual(parseMysqlGrant("select,  insert , show   view on `shop_1`.`orders`"), {
      privileges: ["SELECT", "INSERT", "SHOW VIEW"],
      database: "shop_1",
      table: "orders",
    });
    assert.equal(renderGrantObject(parseMysqlGrant("SELECT ON shop_db.*")), "`shop\\_db`.*");
    assert.equal(renderGrantObject(parseMysqlGrant("SELECT ON shop_db.t_1")), "`shop_db`.`t_1`");
  });

  const refused: Array<[string, RegExp]> = [
    ["ALL ON shop.*", /privilege must be one of/],
    ["ALL PRIVILEGES ON shop.*", /privilege must be one of/],
    ["GRANT OPTION ON shop.*", /privilege must be one of/],
    ["FILE ON shop.*", /privilege must be one of/],
    ["SUPER ON shop.*", /privilege must be one of/],
    ["SELECT ON *.*", /global grants/],
    ["SELECT ON mysql.user", /mysql schema/],
    ["SELECT ON Performance_Schema.*", /performance_schema/],
    ["SELECT ON shop.* TO 'x'@'%'", /a grant reads/],
    ["SELECT ON shop.*; DROP USER root", /a grant reads|the object/],
    ["SELECT ON shop.*;DROP", /the object/],
    ["SELECT ON `sh`op`.*", /the object/],
    ["SELECT ON `shop``x`.*", /the object/],
    ["SELECT ON shop.* -- x", /a grant reads/],
    ["SELECT ON shop./*x*/t", /the object/],
    ["SELECT ON sh%op.*", /the object/],
    ["SELECT ON shop", /a grant reads|the object/],
    ["SELECT", /a grant reads/],
    ["SELECT ON shop.t.u", /the object/],
    ["SELECT ON *.t", /the object/],
    ["SELECT (id) ON shop.t", /privilege must be one of/],
    ["PROXY ON ''@''", /privilege must be one of/],
  ];
  for (const [text, why] of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseMysqlGrant(text), why));
  }

  it("property: any string is refused or renders to SQL of the fixed shape only (no quote, comment or separator)", () => {
    const fragments = fc.constantFrom(
      "SELECT",
      "INSERT",
      "ON",
      " ",
      ",",
      ".",
      "*",
      "`",
      "'",
      '"',
      ";",
      "--",
      "/*",
      "*/",
      "\\",
      "%",
      "_",
      "shop",
      "TO",
      "@",
      "DROP USER root",
      "\n",
      "\0",
    );
    const candidate = fc.oneof(
      fc.array(fragments, { maxLength: 12 }).map((a) => a.join("")),
      fc.string({ unit: "binary", maxLength: 60 }),
      fc
        .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
        .map(([d, t]) => `SELECT ON ${d}.${t}`),
    );
    const privilege = `(?:${MYSQL_PRIVILEGES.join("|")})`;
    const shape = new RegExp(
      `^${privilege}(?:, ${privilege})* ON \`[A-Za-z0-9$\\\\_%]+\`\\.(?:\\*|\`[A-Za-z0-9_$]+\`)$`,
    );
    fc.assert(
      fc.property(candidate, (text) => {
        let g: ReturnType<typeof parseMysqlGrant>;
        try {
          g = parseMysqlGrant(text);
        } catch {
          return;
        }
        const sql = `${g.privileges.join(", ")} ON ${renderGrantObject(g)}`;
        assert.match(sql, shape);
      }),
      { numRuns: 2000 },
    );
  });

  it("a policy with a grant outside the grammar does not load", () => {
    const policy = (grant: string) => ({
      apiVersion: "wif-broker/v1",
      kind: "TrustPolicy",
      metadata: { name: "p" },
      spec: {
        provider: "github",
        match: { repository_id: "1" },
        grant: { targets: [{ audience: "shop", mysql: { connection: "shop", grants: [grant] } }] },
      },
    });
    assert.equal(policySchema.safeParse(policy("SELECT ON shop.*")).success, true);
    const bad = policySchema.safeParse(policy("SELECT ON shop.* TO root"));
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error?.issues), /a grant reads/);
  });
});
