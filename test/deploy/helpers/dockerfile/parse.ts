import { strings } from "../yaml-access.ts";

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  image: string;
  body: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped; `line` is where each starts. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith("#") || (buf === "" && line === "")) return;
    if (buf === "") start = i + 1;
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buf);
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? "").trim(), line: start });
    buf = "";
  });
  return out;
}

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) ? strings(v) : undefined;
  } catch {
    return undefined;
  }
}

/** The build stages; `outside` gets every instruction before the first FROM other than ARG. */
export function stagesOf(instructions: readonly Instruction[], outside: (ins: Instruction) => void): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const asIndex = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ image: words[0] ?? "", name: asIndex >= 0 ? words[asIndex + 1] : undefined, body: [] });
    } else if (stages.length > 0) stages[stages.length - 1]?.body.push(ins);
    else if (ins.keyword !== "ARG") outside(ins);
  }
  return stages;
}
