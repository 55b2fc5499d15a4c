import { at, isObj, type Obj } from "./yaml-access.ts";

/** Edits for the mutation tables: each changes one thing in a parsed document. */

export function objAt(v: unknown, ...path: Array<string | number>): Obj {
  const o = at(v, ...path);
  if (!isObj(o)) throw new Error(`no object at ${path.join(".")}`);
  return o;
}
export function put(o: Obj, key: string, value: unknown): void {
  o[key] = value;
}
export function drop(o: Obj, key: string): void {
  delete o[key];
}
