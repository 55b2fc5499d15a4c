import { type CelValue, isCelList, isCelMap } from "@bufbuild/cel";

/** The budget of the evaluation in progress. Evaluation is synchronous, so one slot serves every condition. */
let meter = { left: 0, exceeded: false };

/** Gives the evaluation about to run a fresh budget of `units`. */
export function startMeter(units: number): void {
  meter = { left: units, exceeded: false };
}

/** Did the evaluation that ran last spend more than its budget? */
export const meterExceeded = (): boolean => meter.exceeded;

/** Spends `units`; false once the budget is exhausted. */
export function charge(units: number): boolean {
  meter.left -= units;
  if (meter.left < 0) meter.exceeded = true;
  return !meter.exceeded;
}

/** What an operand costs an operation that scans it. */
export function sizeCost(v: CelValue): number {
  if (typeof v === "string") return Math.ceil(v.length / 64);
  if (v instanceof Uint8Array) return Math.ceil(v.length / 64);
  if (isCelList(v) || isCelMap(v)) return v.size;
  return 0;
}
