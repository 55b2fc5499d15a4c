/** Records one problem. */
export type Fail = (msg: string) => void;

/** A Fail that appends to `problems` (the checks also hand `problems` to parsers that append their own). */
export const failInto =
  (problems: string[]): Fail =>
  (msg) => {
    problems.push(msg);
  };
