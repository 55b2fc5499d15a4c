import { type CelValue, isCelList, isCelMap } from "@bufbuild/cel";

/**
 * The budget of the evaluation in progress. Evaluation is synchronous, so one meter serves every condition planned
 * in the same environment (one per compiled policy set): it is owned by that set, never shared across sets.
 */
export class Meter {
  #left = 0;
  #exceeded = false;

  /** Gives the evaluation about to run a fresh budget of `units`. */
  start(units: number): void {
    this.#left = units;
    this.#exceeded = false;
  }

  /** Did the evaluation that ran last spend more than its budget? */
  get exceeded(): boolean {
    return this.#exceeded;
  }

  /** Spends `units`; false once the budget is exhausted. */
  charge(units: number): boolean {
    this.#left -= units;
    if (this.#left < 0) this.#exceeded = true;
    return !this.#exceeded;
  }
}

/** What an operand costs an operation that scans it. */
export function sizeCost(v: CelValue): number {
  if (typeof v === "string") return Math.ceil(v.length / 64);
  if (v instanceof Uint8Array) return Math.ceil(v.length / 64);
  if (isCelList(v) || isCelMap(v)) return v.size;
  return 0;
}
