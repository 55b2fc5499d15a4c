import { CelScalar, celFunc } from "@bufbuild/cel";
import { type Meter, sizeCost } from "./meter.ts";

/** Names of the functions `instrument` injects; the `@` keeps user expressions from calling them. */
export const STEP_FN = "@wif_step";
export const CHARGE_FN = "@wif_charge";

/** The injected functions, charging `meter`. */
export const budgetFunctions = (meter: Meter) => [
  celFunc(STEP_FN, [CelScalar.INT], CelScalar.BOOL, (units) => meter.charge(Number(units))),
  celFunc(CHARGE_FN, [CelScalar.DYN], CelScalar.DYN, (v) => {
    if (!meter.charge(1 + sizeCost(v))) throw new Error("evaluation budget exceeded");
    return v;
  }),
];
