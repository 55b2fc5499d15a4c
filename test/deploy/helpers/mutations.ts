import assert from "node:assert/strict";
import { it } from "node:test";
import { clone } from "./yaml-access.ts";

/** One negative case: a name, an edit of one thing, and the problem the checks must then report. */
export type Mutation<T> = [string, (subject: T) => void, RegExp];

export function assertReports(problems: readonly string[], expected: RegExp): void {
  assert.ok(
    problems.some((p) => expected.test(p)),
    `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
  );
}

/** One test per mutation: a fresh copy of `pristine`, mutated, must make `check` report the expected problem. */
export function itReportsEach<T>(
  pristine: T,
  mutations: ReadonlyArray<Mutation<T>>,
  check: (subject: T) => string[],
) {
  for (const [name, mutate, expected] of mutations) {
    it(name, () => {
      const subject = clone(pristine);
      mutate(subject);
      assertReports(check(subject), expected);
    });
  }
}
