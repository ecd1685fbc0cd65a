// The `arena` bin as npm installs it (cli/launcher.cjs): run by the Node on the user's PATH,
// which may be too old for TypeScript, it runs the CLI on Arena's pinned Node in the user's
// folder; paths are the user's; the exit status and stop signals pass through; and an
// incomplete installation is one ARENA_E_SETUP line, never a stack trace.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildApp, ROOT, servingUrl } from "./helpers.ts";

const LAUNCHER = path.join(ROOT, "cli/launcher.cjs");
const PINNED = fs.realpathSync(process.execPath);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arena-launcher-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The first `node` on PATH that is not the pinned one (what a user's shell runs), or null. */
function systemNode(): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "node");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.realpathSync(candidate) !== PINNED) return candidate;
    } catch {
      // Not there or not executable: the next folder of PATH.
    }
  }
  return null;
}

const SYSTEM_NODE = systemNode();
/** The Node that runs the launcher here: the system's when there is one, as for a user. */
const RUNNER = SYSTEM_NODE ?? process.execPath;

function run(args: string[], cwd = tmp, launcher = LAUNCHER) {
  const r = spawnSync(RUNNER, [launcher, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertSetupLine(r: { code: number | null; stderr: string }, repo: string, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^arena: ARENA_E_SETUP: /);
  assert.match(lines[0], pattern);
  assert.ok(lines[0].endsWith(`(run npm install in ${repo})`), lines[0]);
}

describe("the arena launcher", () => {
  it(`runs the CLI on the pinned Node when started by the system's Node (${SYSTEM_NODE ?? "none on PATH: the pinned one"})`, (t) => {
    if (SYSTEM_NODE === null) t.diagnostic("no other node on PATH; the launcher ran on the pinned Node");
    else t.diagnostic(`system node: ${spawnSync(SYSTEM_NODE, ["--version"], { encoding: "utf8" }).stdout.trim()}`);
    const help = run(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /arena new <dir>/);
    assert.match(help.stdout, /arena serve <app\.wasm>/);
    // The CLI's own exit status and its one line come through unchanged.
    const bad = run(["deploy"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^arena: ARENA_E_USAGE: unknown command 'deploy'/);
  });

  it("works as npx <repo> and as a global install (npm install -g <repo>), from another folder", () => {
    // The user's shell: the system's Node first on PATH, npm's variables of this run left out.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));
    env.PATH = [path.dirname(RUNNER), env.PATH].join(path.delimiter);
    const opts = { cwd: tmp, env, encoding: "utf8" as const, timeout: 60_000 };
    const npx = spawnSync("npx", ["--offline", ROOT, "--help"], opts);
    assert.equal(npx.status, 0, npx.stderr);
    assert.match(npx.stdout, /arena new <dir>/);
    // A temporary prefix: the machine's global packages are left alone.
    const prefix = path.join(tmp, "global");
    const install = spawnSync("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", ROOT], opts);
    assert.equal(install.status, 0, install.stderr);
    const arena = spawnSync(path.join(prefix, "bin/arena"), ["--help"], opts);
    assert.equal(arena.status, 0, arena.stderr);
    assert.match(arena.stdout, /arena new <dir>/);
  });

  it("resolves the paths it is given from the user's working directory", () => {
    fs.mkdirSync(path.join(tmp, "site"));
    fs.copyFileSync(path.join(ROOT, "examples/hello/app.ts"), path.join(tmp, "site/app.ts"));
    const r = run(["build", "site/app.ts"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^built site\/app\.wasm/);
    assert.ok(fs.existsSync(path.join(tmp, "site/app.wasm")));
    const missing = run(["build", "nowhere/app.ts"]);
    assert.match(missing.stderr, /^arena: ARENA_E_USAGE: nowhere\/app\.ts does not exist/);
  });

  it("passes SIGTERM on to the server, which shuts down gracefully, and exits 0", { timeout: 60_000 }, async () => {
    fs.writeFileSync(path.join(tmp, "hello.wasm"), await buildApp("examples/hello/app.ts"));
    const child = spawn(RUNNER, [LAUNCHER, "serve", "hello.wasm", "--port", "0", "--slots", "4"], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
    const { url, exited, output } = servingUrl(child, "arena serve");
    await url;
    child.kill("SIGTERM");
    assert.equal(await exited, 0, output());
    assert.match(output(), /SIGTERM: shutting down/);
    assert.match(output(), /shutdown complete/);
  });
});

describe("the arena launcher in an incomplete installation", () => {
  // A copy of the launcher in a folder shaped like the repository, without what npm install
  // puts there: the launcher finds the repository from its own location.
  const repo = path.join(tmp, "arena-copy");
  const launcher = path.join(repo, "cli/launcher.cjs");
  before(() => {
    fs.mkdirSync(path.join(repo, "cli"), { recursive: true });
    fs.copyFileSync(LAUNCHER, launcher);
    fs.writeFileSync(path.join(repo, "cli/arena.ts"), "");
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(repo, "package.json"));
  });

  it("says in one line that the pinned Node is missing", () => {
    assertSetupLine(run(["--help"], tmp, launcher), repo, /pinned Node, the npm package "node", is missing/);
  });

  it("says in one line that the pinned Node's executable is missing (its install script did not run)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/node/package.json"), "utf8"));
    fs.mkdirSync(path.join(repo, "node_modules/node"), { recursive: true });
    fs.writeFileSync(path.join(repo, "node_modules/node/package.json"), JSON.stringify({ name: "node", version: pkg.version, bin: { node: "bin/node" } }));
    assertSetupLine(run(["--help"], tmp, launcher), repo, /the pinned Node .*bin\/node is missing or not executable/);
  });
});
