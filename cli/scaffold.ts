// `arena new <dir>`: writes an app folder that builds, serves, tests and type-checks on its
// own. The files come from cli/templates/app (each named with a trailing .tmpl, so that
// this repository's own tsc and tidy do not read the app's AssemblyScript as host code);
// package.json is written here because it names this repository's absolute path.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ArenaError } from "../host/index.ts";

/** This repository: the app depends on it by path until Arena is published on npm. */
export const ARENA_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATES = path.join(ARENA_ROOT, "cli/templates/app");

/** An npm package name from a folder name: lower case, URL-safe, at most 214 characters. */
export function packageName(dir: string): string {
  const name = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._~-]+/g, "-").replace(/^[._-]+/, "").slice(0, 214);
  return name === "" ? "arena-app" : name;
}

/** The app's package.json. TypeScript and Node's types come from this repository's
 *  node_modules like Arena itself: the same versions the SDK is checked with, and an
 *  `npm install` that needs no network. */
function packageJson(name: string, root: string): string {
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      start: "arena start app.ts",
      dev: "arena dev app.ts",
      test: "arena test",
      build: "arena build app.ts",
      typecheck: "tsc --noEmit -p . && tsc --noEmit -p test",
    },
    dependencies: { arena: `file:${root}` },
    devDependencies: {
      "@types/node": `file:${path.join(root, "node_modules/@types/node")}`,
      typescript: `file:${path.join(root, "node_modules/typescript")}`,
    },
  };
  return JSON.stringify(pkg, null, 2) + "\n";
}

/** The template files, as paths relative to the template folder. */
function templateFiles(dir = TEMPLATES, rel = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...templateFiles(dir, r));
    else if (e.name.endsWith(".tmpl")) out.push(r);
  }
  return out.sort();
}

/** Where a template lands in the app: without .tmpl, and `gitignore` as `.gitignore` (npm
 *  leaves a file named .gitignore out of a published package). */
function targetName(template: string): string {
  const name = template.slice(0, -".tmpl".length);
  return path.basename(name) === "gitignore" ? path.join(path.dirname(name), ".gitignore") : name;
}

/** Refuses a target that exists and is not an empty folder, with one line. */
function checkTarget(dir: string, abs: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new ArenaError("ARENA_E_USAGE", `${dir} exists and is not a folder`, "choose a new folder name");
    throw new ArenaError("ARENA_E_USAGE", `cannot read ${dir}: ${(err as Error).message}`, "choose a folder you can write");
  }
  if (entries.length > 0) {
    throw new ArenaError("ARENA_E_USAGE", `${dir} already exists and is not empty`, "choose a new folder name, or empty it first");
  }
}

/** Creates the app in `dir` (relative to the working directory) and returns the files written. */
export function scaffold(dir: string, root = ARENA_ROOT): string[] {
  const abs = path.resolve(dir);
  checkTarget(dir, abs);
  const name = packageName(dir);
  const fill = (text: string) => text.replaceAll("{{name}}", name).replaceAll("{{arena}}", root);
  fs.mkdirSync(abs, { recursive: true });
  const written = ["package.json"];
  fs.writeFileSync(path.join(abs, "package.json"), packageJson(name, root));
  for (const template of templateFiles()) {
    const target = targetName(template);
    fs.mkdirSync(path.join(abs, path.dirname(target)), { recursive: true });
    fs.writeFileSync(path.join(abs, target), fill(fs.readFileSync(path.join(TEMPLATES, template), "utf8")));
    written.push(target.split(path.sep).join("/"));
  }
  return written;
}
