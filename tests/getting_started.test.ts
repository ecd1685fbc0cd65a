// docs/getting-started.md works as written: its code blocks are applied to the app that
// `arena new` writes (cli/templates/app) the way the page says (functions above the router,
// routes before serve(app), tests into the describe block, Heap and ByteWriter added to the
// import), the app's tests then pass on node --test, the requests the page shows answer
// what it says, and without Heap.keep the check build answers with the message it quotes.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./helpers.ts";
import { startApp, type TestApp } from "../testing/index.ts";

const PAGE = fs.readFileSync(path.join(ROOT, "docs/getting-started.md"), "utf8");
const TEMPLATES = path.join(ROOT, "cli/templates/app");
const IMPORT = 'import { Router, Request, Response, Json, JsonWriter, serve } from "arena";';

/** The page's blocks marked `<!-- getting-started:kind -->`, joined in order. */
function blocks(kind: string): string {
  const re = new RegExp(`<!-- getting-started:${kind} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``, "g");
  return [...PAGE.matchAll(re)].map((m) => m[1]).join("\n");
}

function template(rel: string): string {
  return fs.readFileSync(path.join(TEMPLATES, rel), "utf8").replaceAll("{{name}}", "my-app");
}

/** The scaffold's app.ts with the page's additions. */
function appSource(): string {
  const app = template("app.ts.tmpl");
  assert.ok(app.includes(IMPORT), "the scaffold's import line changed: update this test and the page");
  return app
    .replace(IMPORT, IMPORT.replace("JsonWriter, serve", "JsonWriter, ByteWriter, Heap, serve"))
    .replace("const app = new Router();", blocks("functions") + "\nconst app = new Router();")
    .replace("serve(app);", blocks("routes") + "serve(app);");
}

/** The scaffold's test with the page's tests added at the end of its describe block. */
function testSource(): string {
  const test = template("test/app.test.ts.tmpl");
  const end = test.lastIndexOf("});");
  return test.slice(0, end) + "\n" + blocks("tests") + test.slice(end);
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "getting-started-"));
  fs.mkdirSync(path.join(dir, "test"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  // What npm install's file: dependency makes: a link to this repository.
  fs.symlinkSync(ROOT, path.join(dir, "node_modules/arena"), "dir");
  fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "my-app", "type": "module", "private": true }\n');
  fs.writeFileSync(path.join(dir, "app.ts"), appSource());
  fs.writeFileSync(path.join(dir, "test/app.test.ts"), testSource());
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it("the scaffold's tests and the page's pass on the app the page builds (npm test)", async () => {
  // Without this runner's NODE_TEST_CONTEXT, which would make the child skip its files.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ["--test", "test/app.test.ts"], { cwd: dir, env });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, out);
  assert.match(out, /adds two numbers from the query/);
  assert.match(out, /keeps the guest book between requests/);
});

describe("the requests the page shows", () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(path.join(dir, "app.ts"));
  });
  after(() => app.close());

  it("answer what the page says", async () => {
    assert.equal((await app.request("GET", "/hello/Ada")).text(), "Hello, Ada.\n");
    assert.ok(PAGE.includes("# Hello, Ada."));
    const status = (await app.request("GET", "/status")).text();
    assert.ok(PAGE.includes("# " + status), status);
    const echo = (await app.request("POST", "/echo", { body: '{"message":"hi"}' })).text();
    assert.ok(PAGE.includes(`--data '{"message":"hi"}' http://127.0.0.1:3000/echo   # ${echo}`), echo);
    assert.equal((await app.request("GET", "/add?a=2&b=40")).text(), "42\n");
  });
});

it("without Heap.keep, the check build stops the request with the message the page quotes", async () => {
  const wrong = path.join(dir, "forgot_keep.ts");
  const source = appSource();
  assert.ok(source.includes("guests.push(kept);"));
  fs.writeFileSync(wrong, source.replace("guests.push(kept);", "guests.push(name);"));
  const app = await startApp(wrong);
  try {
    const res = await app.request("POST", "/guests?name=Ada");
    assert.equal(res.status, 500);
    const message = res.json().message as string;
    const quoted = /`(a String made\s+during the request[^`]*)`/.exec(PAGE);
    assert.ok(quoted !== null, "the page no longer quotes the check build's message");
    assert.ok(message.endsWith(quoted[1].replace(/\s+/g, " ")), message);
  } finally {
    await app.close();
  }
});
