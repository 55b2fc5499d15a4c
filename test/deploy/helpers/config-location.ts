import { posix } from "node:path";

/** Value of `--flag VALUE` or `--flag=VALUE` in an argument list. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === flag) return args[i + 1];
    if (a?.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

/** Is the container path `path` at or below the mount point `dir`? */
export function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !posix.isAbsolute(rel));
}
