// The YAML the deploy manifests are written in, read without a dependency: documents split
// by `---`, block maps and block lists by indentation, plain, single- and double-quoted
// scalars, flow lists of scalars (`["a", "b"]`) and `#` comments. Anchors, multi-line
// strings and flow maps are not read (the manifests use none; parse() throws on what it
// cannot read rather than guessing).

export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/** Every document of `source`, each a map, a list or a scalar. */
export function parseYaml(source: string): Yaml[] {
  const docs: Line[][] = [[]];
  source.split("\n").forEach((raw, i) => {
    if (/^---\s*$/.test(raw)) {
      docs.push([]);
      return;
    }
    const text = stripComment(raw).trimEnd();
    if (text.trim() === "") return;
    docs[docs.length - 1].push({ indent: text.length - text.trimStart().length, text: text.trimStart(), no: i + 1 });
  });
  return docs.filter((d) => d.length > 0).map((lines) => {
    const at = { i: 0 };
    const value = block(lines, at, lines[0].indent);
    if (at.i < lines.length) throw new Error(`line ${lines[at.i].no}: unexpected indentation`);
    return value;
  });
}

/** A `#` outside quotes starts a comment (when it begins the line or follows a space). */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "\"" || c === "'") {
      quote = c;
    } else if (c === "#" && (i === 0 || line[i - 1] === " ")) {
      return line.slice(0, i);
    }
  }
  return line;
}

function block(lines: Line[], at: { i: number }, indent: number): Yaml {
  return lines[at.i].text.startsWith("- ") || lines[at.i].text === "-" ? list(lines, at, indent) : map(lines, at, indent);
}

function list(lines: Line[], at: { i: number }, indent: number): Yaml[] {
  const out: Yaml[] = [];
  while (at.i < lines.length && lines[at.i].indent === indent && (lines[at.i].text.startsWith("- ") || lines[at.i].text === "-")) {
    const line = lines[at.i];
    const rest = line.text.slice(1).trimStart();
    if (rest === "") {
      at.i++;
      out.push(block(lines, at, lines[at.i].indent));
    } else if (/^[\w.-]+:(\s|$)/.test(rest)) {
      // A map item: its first key sits on the dash's line, two columns in.
      lines[at.i] = { indent: indent + 2, text: rest, no: line.no };
      out.push(map(lines, at, indent + 2));
    } else {
      out.push(scalar(rest, line.no));
      at.i++;
    }
  }
  return out;
}

function map(lines: Line[], at: { i: number }, indent: number): { [key: string]: Yaml } {
  const out: { [key: string]: Yaml } = {};
  while (at.i < lines.length && lines[at.i].indent === indent) {
    const line = lines[at.i];
    const m = /^([\w./-]+):(?:\s+(.*))?$/.exec(line.text);
    if (!m) throw new Error(`line ${line.no}: not a key: ${line.text}`);
    at.i++;
    if (m[2] !== undefined && m[2] !== "") {
      out[m[1]] = scalar(m[2], line.no);
    } else if (at.i < lines.length && lines[at.i].indent > indent) {
      out[m[1]] = block(lines, at, lines[at.i].indent);
    } else if (at.i < lines.length && lines[at.i].indent === indent && lines[at.i].text.startsWith("- ")) {
      // A list may sit at its key's own indentation.
      out[m[1]] = list(lines, at, indent);
    } else {
      out[m[1]] = "";
    }
  }
  return out;
}

function scalar(text: string, no: number): Yaml {
  const t = text.trim();
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw new Error(`line ${no}: a flow list must end on its line`);
    const inner = t.slice(1, -1).trim();
    return inner === "" ? [] : (inner.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^,\s][^,]*/g) ?? []).map((s) => scalar(s, no));
  }
  if (t.startsWith("{") || t.startsWith("|") || t.startsWith(">") || t.startsWith("&") || t.startsWith("*")) {
    throw new Error(`line ${no}: ${t[0]} is not read by this subset`);
  }
  if (t.startsWith("\"")) return JSON.parse(t) as string;
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  return t;
}
