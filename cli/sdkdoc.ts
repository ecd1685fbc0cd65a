// `npm run docs:sdk`: writes docs/sdk.md, the SDK reference, from the doc comments of what
// sdk/lib/arena.ts exports. The AssemblyScript sources are parsed as TypeScript (syntax
// only: decorators such as @inline parse fine); each export is followed through
// `export { … } from` to its declaration. Private members and those marked `@unsafe`
// (internals an app does not call) are left out. tests/sdk_doc.test.ts regenerates the
// page in memory and fails when docs/sdk.md differs or a doc comment or example is missing.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = "sdk/lib/arena.ts";
export const SDK_DOC = "docs/sdk.md";

/** One documented name: an export, or a public member of one. */
interface Entry {
  heading: string;
  signature: string;
  doc: string;
  where: string;
}

interface Section extends Entry {
  name: string;
  kind: string;
  members: Entry[];
}

export interface SdkDoc {
  markdown: string;
  /** "file:line Name.member: no doc comment" / "…: no example", one per gap. */
  missing: string[];
}

type Decl = ts.ClassDeclaration | ts.FunctionDeclaration | ts.EnumDeclaration | ts.ModuleDeclaration |
  ts.VariableStatement | ts.TypeAliasDeclaration | ts.InterfaceDeclaration;

class Sources {
  private cache = new Map<string, ts.SourceFile>();
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  get(rel: string): ts.SourceFile {
    let sf = this.cache.get(rel);
    if (sf === undefined) {
      sf = ts.createSourceFile(rel, fs.readFileSync(path.join(this.root, rel), "utf8"), ts.ScriptTarget.Latest, true);
      this.cache.set(rel, sf);
    }
    return sf;
  }

  /** The repository path an import specifier of `from` names (AS imports have no extension). */
  resolve(from: string, spec: string): string {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    return /\.ts$/.test(base) ? base : base + ".ts";
  }
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

function decoratorNames(node: ts.Node): string[] {
  // Decorators where TypeScript does not allow them (on a function, a constructor) are still
  // parsed as modifiers.
  const mods: readonly ts.ModifierLike[] = (node as { modifiers?: ts.NodeArray<ts.ModifierLike> }).modifiers ?? [];
  const names: string[] = [];
  for (const m of mods) if (ts.isDecorator(m)) names.push(m.expression.getText().replace(/\(.*$/s, ""));
  return names;
}

function declName(d: Decl): string[] {
  if (ts.isVariableStatement(d)) return d.declarationList.declarations.map((v) => v.name.getText());
  return d.name !== undefined ? [d.name.getText()] : [];
}

function isDecl(s: ts.Statement): s is Decl {
  return ts.isClassDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isEnumDeclaration(s) || ts.isModuleDeclaration(s) ||
    ts.isVariableStatement(s) || ts.isTypeAliasDeclaration(s) || ts.isInterfaceDeclaration(s);
}

/** The declaration `name` exported by `file`, following re-exports; null when there is none. */
function findExport(src: Sources, file: string, name: string, depth = 0): { file: string; decl: Decl } | null {
  if (depth > 16 || !fs.existsSync(path.join(src.root, file))) return null;
  for (const s of src.get(file).statements) {
    if (isDecl(s) && hasModifier(s, ts.SyntaxKind.ExportKeyword) && declName(s).includes(name)) return { file, decl: s };
    if (!ts.isExportDeclaration(s) || s.moduleSpecifier === undefined || !ts.isStringLiteral(s.moduleSpecifier)) continue;
    const target = src.resolve(file, s.moduleSpecifier.text);
    if (s.exportClause === undefined) {
      const found = findExport(src, target, name, depth + 1);
      if (found !== null) return found;
    } else if (ts.isNamedExports(s.exportClause)) {
      for (const el of s.exportClause.elements) {
        if (el.name.text === name) return findExport(src, target, (el.propertyName ?? el.name).text, depth + 1);
      }
    }
  }
  return null;
}

/** Every name `file` exports, in source order (`export *` expanded). */
function exportedNames(src: Sources, file: string, depth = 0): string[] {
  const names: string[] = [];
  if (depth > 16 || !fs.existsSync(path.join(src.root, file))) return names;
  for (const s of src.get(file).statements) {
    if (isDecl(s) && hasModifier(s, ts.SyntaxKind.ExportKeyword)) names.push(...declName(s));
    if (!ts.isExportDeclaration(s) || s.isTypeOnly && s.exportClause === undefined) continue;
    if (s.exportClause === undefined && s.moduleSpecifier !== undefined && ts.isStringLiteral(s.moduleSpecifier)) {
      names.push(...exportedNames(src, src.resolve(file, s.moduleSpecifier.text), depth + 1));
    } else if (s.exportClause !== undefined && ts.isNamedExports(s.exportClause)) {
      names.push(...s.exportClause.elements.map((el) => el.name.text));
    }
  }
  return [...new Set(names)];
}

/** The doc comment before `node` as Markdown (the last `/** … *\/` among its comments), or "". */
function docOf(node: ts.Node): string {
  const sf = node.getSourceFile();
  const full = sf.getFullText();
  const docs = (ts.getLeadingCommentRanges(full, node.getFullStart()) ?? [])
    .map((r) => full.slice(r.pos, r.end)).filter((c) => c.startsWith("/**"));
  if (docs.length === 0) return "";
  const body = docs[docs.length - 1].replace(/^\/\*\*/, "").replace(/\*\/$/, "");
  let inFence = false;
  const lines = body.split("\n").map((line) => {
    const text = line.replace(/^\s*\* ?/, "").replace(/^\s*$/, "");
    const fence = /^\s*```/.test(text);
    const out = inFence && !fence ? text : text.trim();
    if (fence) inFence = !inFence;
    return out;
  });
  return lines.join("\n").replace(/^\n+|\s+$/g, "");
}

/** Whether `doc` shows how `name` is used: a fenced example, or inline code that uses the name. */
function hasExample(doc: string, name: string): boolean {
  if (doc.includes("```")) return true;
  const word = new RegExp(`(^|[^\\w$])${name.replace(/[$]/g, "\\$")}(?![\\w$])`);
  for (const m of doc.matchAll(/`([^`\n]+)`/g)) {
    if (m[1] !== name && word.test(m[1]) && /[(.=\s\[]/.test(m[1])) return true;
  }
  return false;
}

function where(node: ts.Node): string {
  const sf = node.getSourceFile();
  return `${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
}

function text(nodes: ts.NodeArray<ts.Node> | undefined, open = "(", close = ")"): string {
  return nodes === undefined ? "" : open + nodes.map((n) => n.getText().replace(/\s+/g, " ")).join(", ") + close;
}

function returns(node: { type?: ts.TypeNode }): string {
  return node.type !== undefined ? ": " + node.type.getText().replace(/\s+/g, " ") : "";
}

function typeParams(node: { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }): string {
  return node.typeParameters !== undefined && node.typeParameters.length > 0 ? text(node.typeParameters, "<", ">") : "";
}

/** Whether a member is left out of the reference: private, protected, #private or @unsafe. */
function isHidden(m: ts.Node): boolean {
  if (hasModifier(m, ts.SyntaxKind.PrivateKeyword) || hasModifier(m, ts.SyntaxKind.ProtectedKeyword)) return true;
  const name = (m as { name?: ts.Node }).name;
  if (name !== undefined && ts.isPrivateIdentifier(name)) return true;
  return decoratorNames(m).includes("unsafe");
}

/** Signature and heading of a class member (null for what is not documented). */
function memberSignature(owner: string, m: ts.ClassElement, setters: Set<string>): { heading: string; signature: string; name: string } | null {
  const stat = hasModifier(m, ts.SyntaxKind.StaticKeyword) ? "static " : "";
  if (ts.isConstructorDeclaration(m)) return { heading: `new ${owner}`, signature: `new ${owner}${text(m.parameters)}`, name: owner };
  const name = m.name?.getText();
  if (name === undefined) return null;
  const heading = `${owner}.${name}`;
  if (ts.isMethodDeclaration(m)) return { heading, name, signature: `${stat}${name}${typeParams(m)}${text(m.parameters)}${returns(m)}` };
  if (ts.isGetAccessorDeclaration(m)) {
    const ro = setters.has(name) ? "" : "readonly ";
    return { heading, name, signature: `${stat}${ro}${name}${returns(m)}` };
  }
  if (ts.isPropertyDeclaration(m)) {
    const ro = hasModifier(m, ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : "";
    const init = m.initializer !== undefined ? " = " + m.initializer.getText() : "";
    return { heading, name, signature: `${stat}${ro}${name}${returns(m)}${init}` };
  }
  return null;
}

function classMembers(owner: string, c: ts.ClassDeclaration, missing: string[]): Entry[] {
  const setters = new Set(c.members.filter(ts.isSetAccessorDeclaration).map((s) => s.name.getText()));
  const out: Entry[] = [];
  for (const m of c.members) {
    if (isHidden(m) || ts.isSetAccessorDeclaration(m) && c.members.some((g) => ts.isGetAccessorDeclaration(g) && g.name.getText() === m.name.getText())) continue;
    const sig = memberSignature(owner, m, setters);
    if (sig === null) continue;
    const doc = docOf(m);
    // The example uses the declared name, which differs from `owner` after `export { A as B }`.
    check(missing, m, sig.heading, doc, ts.isConstructorDeclaration(m) ? `new ${c.name?.getText() ?? owner}` : sig.name);
    out.push({ heading: sig.heading, signature: sig.signature, doc, where: where(m) });
  }
  return out;
}

function namespaceMembers(owner: string, ns: ts.ModuleDeclaration, missing: string[]): Entry[] {
  const out: Entry[] = [];
  if (ns.body === undefined || !ts.isModuleBlock(ns.body)) return out;
  for (const s of ns.body.statements) {
    if (!isDecl(s) || !hasModifier(s, ts.SyntaxKind.ExportKeyword) || isHidden(s)) continue;
    for (const name of declName(s)) {
      const heading = `${owner}.${name}`;
      const doc = docOf(s);
      check(missing, s, heading, doc, name);
      out.push({ heading, signature: signatureOf(s, `${owner}.${name}`).replace(/^function /, ""), doc, where: where(s) });
    }
  }
  return out;
}

function enumMembers(owner: string, e: ts.EnumDeclaration, missing: string[]): Entry[] {
  return e.members.map((m) => {
    const heading = `${owner}.${m.name.getText()}`;
    const doc = docOf(m);
    if (doc === "") missing.push(`${where(m)} ${heading}: no doc comment`);
    const init = m.initializer !== undefined ? " = " + m.initializer.getText() : "";
    return { heading, signature: `${heading}${init}`, doc, where: where(m) };
  });
}

function check(missing: string[], node: ts.Node, heading: string, doc: string, name: string): void {
  if (doc === "") missing.push(`${where(node)} ${heading}: no doc comment`);
  else if (!hasExample(doc, name)) missing.push(`${where(node)} ${heading}: no example`);
}

/** The declaration's signature without its body, named `name`. */
function signatureOf(d: Decl, name: string): string {
  if (ts.isFunctionDeclaration(d)) return `function ${name}${typeParams(d)}${text(d.parameters)}${returns(d)}`;
  if (ts.isClassDeclaration(d)) {
    const heritage = (d.heritageClauses ?? []).map((h) => " " + h.getText().replace(/\s+/g, " ")).join("");
    return `class ${name}${typeParams(d)}${heritage}`;
  }
  if (ts.isEnumDeclaration(d)) return `enum ${name}`;
  if (ts.isModuleDeclaration(d)) return `namespace ${name}`;
  if (ts.isTypeAliasDeclaration(d)) return `type ${name}${typeParams(d)} = ${d.type.getText().replace(/\s+/g, " ")}`;
  if (ts.isInterfaceDeclaration(d)) return `interface ${name}${typeParams(d)}`;
  const kw = d.declarationList.flags & ts.NodeFlags.Const ? "const" : "let";
  const v = d.declarationList.declarations.find((x) => name.endsWith(x.name.getText())) ?? d.declarationList.declarations[0];
  const init = v.initializer !== undefined ? " = " + v.initializer.getText().replace(/\s+/g, " ") : "";
  return `${kw} ${name}${returns(v)}${init}`;
}

const KINDS: [(d: Decl) => boolean, string][] = [
  [ts.isClassDeclaration, "class"], [ts.isFunctionDeclaration, "function"], [ts.isEnumDeclaration, "enum"],
  [ts.isModuleDeclaration, "namespace"], [ts.isTypeAliasDeclaration, "type"], [ts.isInterfaceDeclaration, "interface"],
  [ts.isVariableStatement, "constant"],
];

function section(name: string, file: string, d: Decl, missing: string[]): Section {
  const doc = docOf(d);
  // A type's example is code that fits it (a handler function for Handler), not its name.
  const isType = ts.isTypeAliasDeclaration(d) || ts.isInterfaceDeclaration(d);
  if (!isType || doc === "" || !/`[^`\n]*\(/.test(doc)) check(missing, d, name, doc, declName(d)[0] ?? name);
  let members: Entry[] = [];
  if (ts.isClassDeclaration(d)) members = classMembers(name, d, missing);
  else if (ts.isModuleDeclaration(d)) members = namespaceMembers(name, d, missing);
  else if (ts.isEnumDeclaration(d)) members = enumMembers(name, d, missing);
  const kind = KINDS.find(([is]) => is(d))![1];
  return { name, kind, heading: name, signature: signatureOf(d, name), doc, where: `${file}:${where(d).split(":")[1]}`, members };
}

function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");
}

/** One line per source file, in the order of its first export: its exports as links. */
function contents(sections: Section[]): string[] {
  const byFile = new Map<string, Section[]>();
  for (const s of sections) {
    const file = s.where.replace(/:\d+$/, "");
    byFile.set(file, [...(byFile.get(file) ?? []), s]);
  }
  return [...byFile].map(([file, list]) => `- ${file}: ${list.map((s) => `[${s.name}](#${anchor(s.name)})`).join(", ")}`);
}

function render(sections: Section[]): string {
  const out: string[] = [
    "# SDK reference",
    "",
    "Everything `import { … } from \"arena\"` gives an app, in the order sdk/lib/arena.ts exports it:",
    "each export's signature and doc comment, then its public members. Generated from the doc",
    "comments by `npm run docs:sdk` (cli/sdkdoc.ts); do not edit it by hand: tests/sdk_doc.test.ts",
    "fails when it is out of date, and when an export or a public member has no doc comment or no example.",
    "",
    ...contents(sections),
    "",
  ];
  for (const s of sections) {
    out.push(`## ${s.name}`, "", `${s.kind} · ${s.where.replace(/:\d+$/, "")}`, "", "```ts", s.signature, "```", "");
    if (s.doc !== "") out.push(s.doc, "");
    for (const m of s.members) {
      if (s.kind === "enum") {
        out.push(`- \`${m.signature}\`${m.doc !== "" ? ": " + m.doc.replace(/\s*\n\s*/g, " ") : ""}`);
        continue;
      }
      out.push(`### ${m.heading}`, "", "```ts", m.signature, "```", "");
      if (m.doc !== "") out.push(m.doc, "");
    }
    if (s.kind === "enum" && s.members.length > 0) out.push("");
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

/** The reference for the SDK under `root` (the repository, or a copy of it). */
export function generateSdkDoc(root = ROOT): SdkDoc {
  const src = new Sources(root);
  const missing: string[] = [];
  const sections: Section[] = [];
  for (const name of exportedNames(src, ENTRY)) {
    const found = findExport(src, ENTRY, name);
    if (found === null) {
      missing.push(`${ENTRY} ${name}: exported, but no declaration was found`);
      continue;
    }
    sections.push(section(name, found.file, found.decl, missing));
  }
  return { markdown: render(sections), missing };
}

if (import.meta.main) {
  const { markdown, missing } = generateSdkDoc();
  fs.writeFileSync(path.join(ROOT, SDK_DOC), markdown);
  console.log(`wrote ${SDK_DOC} (${markdown.split("\n").length} lines)`);
  if (missing.length > 0) {
    console.error(`${missing.length} doc comments or examples missing (tests/sdk_doc.test.ts lists them too):`);
    for (const m of missing) console.error("  " + m);
  }
}
