// `arena new` as a user runs it, in a folder outside the repository: the app it writes
// installs without the network, type-checks with 0 errors (the app, the SDK it pulls in and
// the tests), passes its own tests, and `npm start` serves it until Ctrl-C. A folder that is
// not empty is refused in one line.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, servingUrl } from "./helpers.ts";

const LAUNCHER = path.join(ROOT, "cli/launcher.cjs");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arena-scaffold-"));
const appDir = path.join(tmp, "my-app");
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The user's environment: npm's variables from the run of this suite are left out. */
const ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));

function run(command: string, args: string[], cwd = appDir, timeout = 90_000) {
  const r = spawnSync(command, args, { cwd, env: ENV, encoding: "utf8", timeout });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stderr: r.stderr };
}

/** Runs `npm start` in its own process group and resolves to the URL it serves once it prints
 *  its "serving" line; `stop()` sends SIGINT to the group, as Ctrl-C in a terminal does. */
function npmStart(): { url: Promise<string>; stop: () => Promise<string> } {
  const child = spawn("npm", ["start"], { cwd: appDir, env: { ...ENV, PORT: "0" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const { url, exited, output } = servingUrl(child, "npm start", /serving app\.wasm on (http:\/\/127\.0\.0\.1:\d+)\//);
  const stop = async () => {
    process.kill(-child.pid!, "SIGINT");
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
    return output();
  };
  return { url, stop };
}

describe("arena new", () => {
  before(() => {
    const r = run(process.execPath, [LAUNCHER, "new", "my-app"], tmp);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /created my-app: package\.json, .*app\.ts/);
  });

  it("writes the app's files, with Arena linked by its absolute path", () => {
    for (const f of ["package.json", "app.ts", "test/app.test.ts", "tsconfig.json", "test/tsconfig.json", ".gitignore", "README.md"]) {
      assert.ok(fs.existsSync(path.join(appDir, f)), `${f} is missing`);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(appDir, "package.json"), "utf8"));
    assert.equal(pkg.name, "my-app");
    assert.equal(pkg.dependencies.arena, `file:${ROOT}`);
    assert.deepEqual(Object.keys(pkg.scripts).sort(), ["build", "dev", "start", "test", "typecheck"]);
    assert.match(fs.readFileSync(path.join(appDir, ".gitignore"), "utf8"), /^node_modules\/\n\*\.wasm\n/);
  });

  it("refuses a folder that is not empty, in one line", () => {
    const r = run(process.execPath, [LAUNCHER, "new", "my-app"], tmp);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^arena: ARENA_E_USAGE: my-app already exists and is not empty \(/);
  });

  it("installs offline, type-checks with 0 errors, passes its tests and serves with npm start", { timeout: 300_000 }, async (t) => {
    let started = performance.now();
    const install = run("npm", ["install", "--no-audit", "--no-fund", "--offline"]);
    assert.equal(install.code, 0, install.out);
    t.diagnostic(`npm install: ${Math.round(performance.now() - started)} ms`);
    assert.ok(fs.lstatSync(path.join(appDir, "node_modules/arena")).isSymbolicLink());

    for (const project of [".", "test"]) {
      const tsc = run("npx", ["tsc", "--noEmit", "-p", project]);
      assert.equal(tsc.code, 0, `tsc -p ${project}:\n${tsc.out}`);
    }

    started = performance.now();
    const test = run("npm", ["test"], appDir, 180_000);
    assert.equal(test.code, 0, test.out);
    assert.match(test.out, /ℹ pass 6\nℹ fail 0/);
    t.diagnostic(`npm test: ${Math.round(performance.now() - started)} ms`);

    const server = npmStart();
    let output = "";
    try {
      const base = await server.url;
      const res = await fetch(`${base}/`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "Hello from my-app!\n");
      const echo = await fetch(`${base}/echo`, { method: "POST", body: '{"message":"hi"}' });
      assert.deepEqual(await echo.json(), { echo: "hi", length: 2 });
    } finally {
      output = await server.stop();
    }
    assert.match(output, /built app\.wasm/);
    assert.match(output, /shutdown complete/);
    assert.doesNotMatch(output, /again: exiting without waiting/, "one Ctrl-C is one stop signal");
  });
});
