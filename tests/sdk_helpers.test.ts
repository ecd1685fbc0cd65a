// The SDK's everyday helpers (issue 13, item 6) through real requests to
// tests/fixtures/helpersapp.ts, in a check build: cookies (parsing, Set-Cookie with every
// attribute, input that aborts with a message), signed cookies, repeated query keys and
// urlencoded forms, req.ip (the descriptor's remote address), router hooks and a custom
// 405, CORS, SHA-256 and HMAC-SHA256 against published vectors, and ETag → 304.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { ArenaServer, MemoryLogger } from "../host/index.ts";
import {
  buildApp, countJspiCalls, exchange, get, parseResponses, startTestServer, type ParsedResponse, type Running,
} from "./helpers.ts";

const APP = "tests/fixtures/helpersapp.ts";

let srv: Running;
before(async () => {
  srv = await startTestServer({}, true, APP);
});
after(async () => {
  await srv.server.close();
});

async function request(raw: string): Promise<ParsedResponse> {
  const ex = await exchange(srv.port, raw, { expect: 1 });
  assert.equal(ex.responses.length, 1, ex.bytes.toString("latin1"));
  return ex.responses[0];
}

async function send(path: string, extra = ""): Promise<ParsedResponse> {
  return request(get(path, extra));
}

async function text(path: string, extra = ""): Promise<string> {
  const res = await send(path, extra);
  assert.equal(res.status, 200, res.raw);
  return res.body.toString("utf8");
}

/** Every value of header `name` in a raw response (the parsed map keeps the last one). */
function all(res: ParsedResponse, name: string): string[] {
  const head = res.raw.slice(0, res.raw.indexOf("\r\n\r\n"));
  return head.split("\r\n").slice(1).filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ":"))
    .map((l) => l.slice(l.indexOf(":") + 1).trim());
}

function post(path: string, body: string, contentType: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe("cookies", () => {
  it("req.cookie reads one cookie of the Cookie header: spaces, quotes, = in values, absent names", async () => {
    const c = "Cookie: a=1;b=two; theme=\"dark mode\" ;  x = y ; eq=k=v; empty=; sid=abc\r\n";
    assert.equal(await text("/cookie?name=a", c), "[1]");
    assert.equal(await text("/cookie?name=b", c), "[two]");
    assert.equal(await text("/cookie?name=theme", c), "[dark mode]");
    assert.equal(await text("/cookie?name=x", c), "[y]");
    assert.equal(await text("/cookie?name=eq", c), "[k=v]");
    assert.equal(await text("/cookie?name=empty", c), "[]");
    assert.equal(await text("/cookie?name=sid", c), "[abc]");
    assert.equal(await text("/cookie?name=SID", c), "(null)", "names are case-sensitive");
    assert.equal(await text("/cookie?name=missing", c), "(null)");
    assert.equal(await text("/cookie?name=a"), "(null)", "no Cookie header");
    assert.equal(await text("/cookie?name=c", "Cookie: a=1\r\nCookie: c=3\r\n"), "[3]", "a second Cookie field");
  });

  it("res.cookie writes Set-Cookie with Path, Domain, Max-Age, Expires, HttpOnly, Secure, SameSite; clearCookie expires it", async () => {
    const res = await send("/setcookie");
    assert.equal(res.status, 200);
    assert.deepEqual(all(res, "set-cookie"), [
      "sid=abc123; Path=/; Domain=example.com; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; HttpOnly; Secure; SameSite=Lax",
      "plain=v",
      "old=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ]);
  });

  it("httpDate matches JS's toUTCString over centuries, leap days and before 1970", async () => {
    for (const ms of [0, 784111777000, 951782400000, 4107542399000, 253402300799000, -86400000, -2208988800000, 1709164800123]) {
      assert.equal(await text(`/date?ms=${ms}`), new Date(ms).toUTCString(), `ms ${ms}`);
    }
  });

  for (const [kind, message] of [
    ["crlf", "Response.cookie: the value of cookie 'a' holds byte 0x0D"],
    ["semicolon", "Response.cookie: the value of cookie 'a' holds ';'"],
    ["space", "Response.cookie: the value of cookie 'a' holds byte 0x20"],
    ["name", "Response.cookie: cookie name 'a b' holds byte 0x20"],
    ["samesite", "CookieOptions: SameSite=None needs Secure"],
    ["path", "CookieOptions.path: byte 0x0D is not allowed"],
  ]) {
    it(`invalid Set-Cookie input aborts with a message: ${kind}`, async () => {
      const res = await send(`/badcookie?kind=${kind}`);
      assert.equal(res.status, 500);
      assert.ok(res.body.toString().includes(message), res.body.toString());
      assert.equal(all(res, "set-cookie").length, 0);
    });
  }

  it("a signed cookie round-trips, and a changed value or signature reads as null", async () => {
    const res = await send("/sign?v=42");
    const [line] = all(res, "set-cookie");
    const m = /^user=(42\.[A-Za-z0-9_-]{43}); Path=\/; HttpOnly$/.exec(line);
    assert.ok(m, line);
    const expected = crypto.createHmac("sha256", "a test secret that is long enough, 32+").update("user=42").digest("base64url");
    assert.equal(m[1], `42.${expected}`);
    assert.equal(await text("/whoami", `Cookie: user=${m[1]}\r\n`), "[42]");
    assert.equal(await text("/whoami", `Cookie: user=43${m[1].slice(2)}\r\n`), "(null)", "value changed");
    const sig = m[1].slice(3);
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    assert.equal(await text("/whoami", `Cookie: user=42.${flipped}\r\n`), "(null)", "signature changed");
    assert.equal(await text("/whoami", "Cookie: user=42\r\n"), "(null)", "no signature");
    assert.equal(await text("/whoami", `Cookie: other=${m[1]}\r\n`), "(null)", "another cookie's name");
    assert.equal(await text("/whoami"), "(null)");
  });
});

describe("query strings and forms", () => {
  it("req.queryAll returns every value of a repeated key, in order; query the first", async () => {
    assert.equal(await text("/query?key=tag&tag=a&x=1&tag=b+c&tag=d%20e&tag"), "[a] 4:a|b c|d e|");
    assert.equal(await text("/query?key=none&tag=a"), "(null) 0:");
    assert.equal(await text("/query?key=caf%C3%A9&caf%C3%A9=%E2%9C%93"), "[✓] 1:✓");
  });

  it("req.form / formAll decode an urlencoded body (+ and %20 are spaces); other types read as none", async () => {
    const body = "a=hello+world&t=x&b=caf%C3%A9%20au%20lait&t=y+z&t=&c=1";
    let res = await request(post("/form", body, "application/x-www-form-urlencoded"));
    assert.equal(res.body.toString(), "[hello world] [café au lait] 3:x|y z|");
    res = await request(post("/form", body, "Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    assert.equal(res.body.toString(), "[hello world] [café au lait] 3:x|y z|");
    res = await request(post("/form", body, "text/plain"));
    assert.equal(res.body.toString(), "(null) (null) 0:");
  });

  it("req.ip is the client's address", async () => {
    assert.equal(await text("/ip"), "127.0.0.1");
  });

  it("req.ip on a dual-stack listener: ::1, and an IPv4 client in its IPv4 form (not ::ffff:127.0.0.1)", async () => {
    const server = await ArenaServer.create(await buildApp(APP, true), APP, { slots: 4, slotBytes: 256 * 1024, log: new MemoryLogger() });
    const port = await server.listen(0, "::");
    try {
      for (const [host, want] of [["::1", "::1"], ["127.0.0.1", "127.0.0.1"]]) {
        const body = await new Promise<string>((resolve, reject) => {
          const socket = net.connect(port, host);
          const chunks: Buffer[] = [];
          socket.on("error", reject);
          socket.on("data", (d: Buffer) => {
            chunks.push(d);
            const { responses } = parseResponses(Buffer.concat(chunks));
            if (responses.length === 1) {
              socket.destroy();
              resolve(responses[0].body.toString());
            }
          });
          socket.write(get("/ip"));
        });
        assert.equal(body, want, `from ${host}`);
      }
    } finally {
      await server.close();
    }
  });
});

describe("router hooks", () => {
  it("a before hook that returns a response short-circuits the handler", async () => {
    const denied = await send("/private/data");
    assert.equal(denied.status, 401);
    assert.equal(denied.body.toString(), "denied\n");
    assert.equal(denied.headers.get("x-after"), "1", "after hooks see short-circuited responses too");
    assert.equal(await text("/private/data", "X-Key: ok\r\n"), "thing\n");
  });

  it("an after hook adds a header to every response, 404 included", async () => {
    assert.equal((await send("/thing")).headers.get("x-after"), "1");
    const missing = await send("/nowhere");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-after"), "1");
  });

  it("the error hook sees a handler's 5xx response", async () => {
    const res = await send("/fail");
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), "error hook saw 503\n");
    assert.equal(res.headers.get("x-after"), "1");
  });

  it("a custom 405 handler answers, and the router adds Allow", async () => {
    const res = await request("DELETE /thing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal(res.status, 405);
    assert.equal(res.body.toString(), '{"error":"method DELETE not allowed"}');
    assert.equal(res.headers.get("allow"), "GET, HEAD, POST");
    assert.equal(res.headers.get("content-type"), "application/json");
  });
});

describe("router hooks that wait", () => {
  it("run through JSPI from the start, once per request (never first in a plain call)", async () => {
    const waiting = await startTestServer({}, true, "tests/fixtures/waithooksapp.ts");
    try {
      let ex: Awaited<ReturnType<typeof exchange>> | null = null;
      const calls = await countJspiCalls(waiting.server, async () => {
        ex = await exchange(waiting.port, [get("/"), get("/stop"), get("/nowhere")], { expect: 3 });
      });
      const got = ex!.responses.map((r) => `${r.status} ${r.headers.get("x-counts")} ${r.body.toString().trim()}`);
      assert.deepEqual(got, ["200 1/1 hello", "200 2/2 stopped by the hook", "404 3/3 Not Found"]);
      assert.equal(calls, 3);
      assert.equal(waiting.log.lines.filter((l) => l.startsWith("ERROR")).length, 0, waiting.log.lines.join("\n"));
    } finally {
      await waiting.server.close();
    }
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin with 204 and the Access-Control-* fields", async () => {
    const res = await request("OPTIONS /thing HTTP/1.1\r\nHost: t\r\nOrigin: https://a.example\r\n" +
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST");
    assert.equal(res.headers.get("access-control-allow-headers"), "Content-Type");
    assert.equal(res.headers.get("access-control-max-age"), "600");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.deepEqual(all(res, "access-control-allow-origin").length, 1, "the after hook does not add them twice");
  });

  it("a preflight from another origin gets 204 without them", async () => {
    const res = await request("OPTIONS /thing HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), undefined);
  });

  it("adds Allow-Origin, Credentials, Expose-Headers and Vary to responses to an allowed origin only", async () => {
    const res = await send("/thing", "Origin: https://a.example\r\n");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.equal(res.headers.get("access-control-expose-headers"), "X-After");
    assert.equal(res.headers.get("vary"), "Origin");
    const other = await send("/thing", "Origin: https://evil.example\r\n");
    assert.equal(other.headers.get("access-control-allow-origin"), undefined);
    const none = await send("/thing");
    assert.equal(none.headers.get("access-control-allow-origin"), undefined);
  });
});

describe("SHA-256, HMAC-SHA256 and encodings", () => {
  it("sha256 of 'abc' and of '' are the FIPS 180-2 vectors", async () => {
    assert.equal(await text("/sha?s=abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(await text("/sha?s="), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("bytes kept in the heap region hash too (Heap.keep'd data and key)", async () => {
    assert.equal(await text("/sha-heap"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad " +
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("hmacSha256 gives RFC 4231's test cases 1 and 2", async () => {
    assert.equal(await text(`/hmac?keyhex=${"0b".repeat(20)}&data=Hi+There`), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert.equal(await text("/hmac?key=Jefe&data=what+do+ya+want+for+nothing%3F"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("base64UrlEncode / Decode round-trip, without padding, and reject what is not base64url", async () => {
    for (const s of ["", "f", "fo", "foo", "foob", "fooba", "foobar", "ÿ?>~", "héllo wörld"]) {
      const want = Buffer.from(s, "utf8").toString("base64url");
      assert.equal(await text(`/b64?s=${encodeURIComponent(s)}`), `${want} same rejects`, s);
    }
  });
});

describe("ETag", () => {
  it("a generated page gets a strong ETag; If-None-Match with it answers 304 with no body", async () => {
    const first = await send("/page?v=1");
    assert.equal(first.status, 200);
    const tag = first.headers.get("etag")!;
    assert.match(tag, /^"[A-Za-z0-9_-]{24}"$/);
    const digest = crypto.createHash("sha256").update("<p>1</p>").digest().subarray(0, 18).toString("base64url");
    assert.equal(tag, `"${digest}"`);
    const again = await send("/page?v=1", `If-None-Match: ${tag}\r\n`);
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.get("etag"), tag);
    assert.equal(again.headers.get("cache-control"), "no-cache");
    assert.equal(again.headers.get("content-type"), undefined);
    assert.equal(again.headers.get("content-length"), undefined);
    assert.equal((await send("/page?v=1", `If-None-Match: "x", W/${tag}\r\n`)).status, 304, "weak comparison, in a list");
    assert.equal((await send("/page?v=1", "If-None-Match: *\r\n")).status, 304);
    const changed = await send("/page?v=2", `If-None-Match: ${tag}\r\n`);
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get("etag"), tag);
    assert.equal(changed.body.toString(), "<p>2</p>");
  });

  it("a body kept in the heap region gets its ETag and a 304 too", async () => {
    const first = await send("/page-heap");
    assert.equal(first.body.toString(), "abc");
    const tag = first.headers.get("etag")!;
    assert.equal(tag, `"${crypto.createHash("sha256").update("abc").digest().subarray(0, 18).toString("base64url")}"`);
    assert.equal((await send("/page-heap", `If-None-Match: ${tag}\r\n`)).status, 304);
  });
});
