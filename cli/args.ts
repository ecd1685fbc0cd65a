// The command line's parser, shared by the `arena` commands: `--name value`, `--name=value`
// and `-n value` for the options a command takes, bare switches, positional arguments.
// Anything else is the one-line ARENA_E_USAGE error.

import { ArenaError } from "../host/index.ts";

export interface Parsed {
  positional: string[];
  flags: Record<string, string>;
  switches: Set<string>;
}

export function parseArgs(argv: string[], valued: Set<string>, switches: Set<string>): Parsed {
  const parsed: Parsed = { positional: [], flags: {}, switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("-") && a !== "-") {
      let name = a.replace(/^--?/, "");
      let value: string | undefined;
      const eq = name.indexOf("=");
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      if (switches.has(name)) {
        parsed.switches.add(name);
      } else if (valued.has(name)) {
        if (value === undefined) {
          value = argv[++i];
          if (value === undefined) throw new ArenaError("ARENA_E_USAGE", `${a} needs a value`, "see arena --help");
        }
        parsed.flags[name] = value;
      } else {
        throw new ArenaError("ARENA_E_USAGE", `unknown option ${a}`, "see arena --help");
      }
    } else {
      parsed.positional.push(a);
    }
  }
  return parsed;
}
