#!/usr/bin/env node
// The `arena` command as npm installs it: `npx <path-to-arena>`, `npm install -g <path>` and an
// app's node_modules/.bin/arena all run this file with whatever Node is on PATH (18, 20, …),
// which cannot run the CLI's TypeScript. So this file is plain CommonJS that any Node from 18
// on runs: it finds the Node that the Arena repository pins (the npm package "node") and runs
// cli/arena.ts on it, in the user's working directory, with the same arguments and terminal.
// When Arena's own installation is incomplete it prints one line, never a stack trace.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");

// Signals a user (Ctrl-C) or a supervisor (docker stop, systemd) sends to stop the server,
// which the CLI shuts down gracefully on, and SIGHUP, on which it reloads the app's build:
// they are passed on rather than ending this process.
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

function fail(detail, repo) {
  process.stderr.write(`arena: ARENA_E_SETUP: ${detail} (run npm install in ${repo})\n`);
  process.exit(1);
}

// The repository is the folder above this file's real location: npm links a folder
// dependency and a global install of a folder (symlinks), so __filename may be a link's path.
function repositoryRoot() {
  let here = __dirname;
  try {
    here = fs.realpathSync(__dirname);
  } catch {
    // The path Node gave is used as it is; resolution below says what is missing.
  }
  return path.dirname(here);
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

// The pinned Node's executable, from the "node" package's own "bin" entry (bin/node; npm's
// install script of that package writes it, bin/node.exe on Windows).
function pinnedNode(repo) {
  let pkgFile;
  try {
    pkgFile = require.resolve("node/package.json", { paths: [path.join(repo, "cli")] });
  } catch (err) {
    if (err.code !== "MODULE_NOT_FOUND") fail(`cannot look for the pinned Node: ${err.message.split("\n")[0]}`, repo);
    fail(`Arena's dependencies are not installed: its pinned Node, the npm package "node", is missing`, repo);
  }
  const pkg = readJson(pkgFile);
  const wanted = (readJson(path.join(repo, "package.json")).dependencies || {}).node;
  if (wanted && pkg.version !== wanted) {
    fail(`the pinned Node in ${path.dirname(pkgFile)} is ${pkg.version}, Arena needs ${wanted}`, repo);
  }
  const bin = typeof pkg.bin === "string" ? pkg.bin : (pkg.bin || {}).node;
  const exe = path.join(path.dirname(pkgFile), bin || "bin/node");
  try {
    fs.accessSync(exe, fs.constants.X_OK);
  } catch {
    fail(`the pinned Node ${exe} is missing or not executable: the install script of the npm package "node" did not run`, repo);
  }
  try {
    require.resolve("assemblyscript/package.json", { paths: [path.join(repo, "cli")] });
  } catch {
    fail(`Arena's dependencies are not installed: the package "assemblyscript" is missing`, repo);
  }
  return exe;
}

function run() {
  const repo = repositoryRoot();
  const cli = path.join(repo, "cli", "arena.ts");
  if (!fs.existsSync(cli)) fail(`${cli} is missing; this launcher must stay in Arena's cli folder`, repo);
  const exe = pinnedNode(repo);
  const child = spawn(exe, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
  const forward = (signal) => {
    // The child may have exited in between; then there is nothing to stop.
    try {
      child.kill(signal);
    } catch {}
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  child.on("error", (err) => fail(`cannot run the pinned Node ${exe}: ${err.message}`, repo));
  child.on("exit", (code, signal) => {
    for (const s of FORWARDED_SIGNALS) process.removeListener(s, forward);
    if (signal) {
      // Ended by a signal: end the same way, so a shell or supervisor sees what happened.
      process.kill(process.pid, signal);
      process.exitCode = 1;
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

try {
  run();
} catch (err) {
  // Anything else that goes wrong before the CLI runs (an unreadable package.json) is one
  // line too: the CLI promises never to print a stack trace.
  fail(`cannot start the CLI: ${err && err.message ? err.message : String(err)}`, repositoryRoot());
}
