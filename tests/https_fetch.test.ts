// fetch over https:// (host/effects/fetch/tls.ts, pool.ts) against local TLS upstreams whose
// certificates the test makes with openssl: a CA the server is told to trust (--fetch-ca's
// caPem), a leaf for 127.0.0.1 and localhost, a leaf for another name, and a CA nobody
// trusts. Covered: a response, SNI, an unknown authority, a certificate for another host, a
// plain-HTTP server behind an https URL, keep-alive reuse, TLS session resumption on a
// new connection, and a client that leaves mid-fetch.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type tls from "node:tls";
import { startTestServer, waitFor, type Running } from "./helpers.ts";
import { resolveServeConfig, serverOptions } from "../host/config.ts";

const APP = "tests/fixtures/effectsapp.ts";
const q = encodeURIComponent;

/** Makes a CA and leaves signed by it in `dir`; returns their PEM text. */
function makeCerts(dir: string): Record<"ca" | "leafKey" | "leaf" | "wrong" | "otherCa" | "stranger", string> {
  const ssl = (...args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "pipe" });
  const ca = (name: string) => ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`);
  const leaf = (name: string, issuer: string, san: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
  };
  ca("ca");
  ca("otherca");
  leaf("leaf", "ca", "DNS:localhost,IP:127.0.0.1");
  leaf("wrong", "ca", "DNS:wrong.test");
  leaf("stranger", "otherca", "IP:127.0.0.1");
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  return { ca: read("ca.pem"), leafKey: read("leaf.key"), leaf: read("leaf.pem"), wrong: read("wrong.pem"), otherCa: read("otherca.pem"), stranger: read("stranger.pem") };
}

interface TlsUpstream {
  url: string;
  /** Per TLS connection accepted: the SNI name it asked for and whether it resumed a session. */
  handshakes: { servername: string | false | null; resumed: boolean }[];
  open(): number;
  close(): Promise<void>;
}

async function startTlsUpstream(key: string, cert: string): Promise<TlsUpstream> {
  const handshakes: TlsUpstream["handshakes"] = [];
  const sockets = new Set<net.Socket>();
  const server = https.createServer({ key, cert }, (req, res) => {
    if (req.url === "/hang") return;
    // /close answers and closes: the next fetch needs a new connection (and resumes).
    if (req.url === "/close") res.setHeader("connection", "close");
    res.setHeader("content-type", "text/plain");
    res.end(`secure ${req.url}`);
  });
  server.keepAliveTimeout = 5000;
  server.on("secureConnection", (s: tls.TLSSocket) => {
    handshakes.push({ servername: s.servername, resumed: s.isSessionReused() });
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    handshakes,
    open: () => sockets.size,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe("fetch over https", () => {
  let dir: string;
  let certs: ReturnType<typeof makeCerts>;
  let t: Running;
  let good: TlsUpstream;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-tls-"));
    certs = makeCerts(dir);
    good = await startTlsUpstream(certs.leafKey, certs.leaf);
    t = await startTestServer({ slots: 8, fetch: { caPem: certs.ca } }, false, APP);
  });
  after(async () => {
    await t.server.close();
    await good.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function text(url: string, extra = ""): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${t.port}/fetch?url=${q(url)}${extra}`, { signal: AbortSignal.timeout(15_000) });
    return await res.text();
  }

  it("fetches from an upstream whose CA is trusted through caPem (--fetch-ca)", async () => {
    assert.equal(await text(`${good.url}/hello?x=1`), "status 200\ncontent-type text/plain\nheaders 5\n\nsecure /hello?x=1");
  });

  it("sends the host name as SNI (none for an IP address)", async () => {
    const n = good.handshakes.length;
    const port = new URL(good.url).port;
    assert.match(await text(`https://localhost:${port}/sni`), /secure \/sni$/);
    assert.equal(good.handshakes[n].servername, "localhost");
    assert.ok(good.handshakes.slice(0, n).every((h) => !h.servername), "an IP address is sent without SNI");
  });

  it("keeps the connection alive and reuses it", async () => {
    await text(`${good.url}/warm`);
    const n = good.handshakes.length;
    for (let i = 0; i < 5; i++) assert.match(await text(`${good.url}/again?i=${i}`), new RegExp(`secure /again\\?i=${i}$`));
    assert.equal(good.handshakes.length, n, "no new handshake for sequential fetches");
  });

  it("resumes the TLS session on a new connection to the same origin", async () => {
    assert.match(await text(`${good.url}/close`), /secure \/close$/);
    const n = good.handshakes.length;
    assert.match(await text(`${good.url}/after`), /secure \/after$/);
    assert.equal(good.handshakes.length, n + 1, "the closed connection was replaced");
    assert.equal(good.handshakes[n].resumed, true, "the new connection resumed the session");
  });

  it("an unknown authority is FetchError.Tls with a sentence", async () => {
    const up = await startTlsUpstream(fs.readFileSync(path.join(dir, "stranger.key"), "utf8"), certs.stranger);
    try {
      assert.equal(await text(`${up.url}/x`), `error Tls: the certificate of ${up.url} is signed by an unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE); trust its CA with --fetch-ca\n`);
    } finally {
      await up.close();
    }
  });

  it("a certificate for another host is FetchError.Tls naming both", async () => {
    const up = await startTlsUpstream(fs.readFileSync(path.join(dir, "wrong.key"), "utf8"), certs.wrong);
    try {
      assert.match(await text(`${up.url}/x`), new RegExp(`^error Tls: the certificate of ${up.url.replace(/\./g, "\\.")} is not valid for 127\\.0\\.0\\.1 \\(IP: 127\\.0\\.0\\.1 is not in the cert's list: \\)\\n$`));
    } finally {
      await up.close();
    }
  });

  it("a plain HTTP server behind an https URL is FetchError.Tls", async () => {
    const plain = http.createServer((_req, res) => res.end("plain"));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      assert.match(await text(`https://127.0.0.1:${port}/`), /^error Tls: the TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed \(ERR_SSL_/);
    } finally {
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
    }
  });

  it("a client that leaves mid-fetch closes the TLS connection", async () => {
    const before = good.open();
    const logBefore = t.log.lines.length;
    const sock = net.connect(t.port, "127.0.0.1");
    await new Promise((r) => sock.on("connect", r));
    sock.write(`GET /fetch?timeout=60000&url=${q(`${good.url}/hang`)} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await waitFor(() => t.server.stats().slotsFree < 8);
    await new Promise((r) => setTimeout(r, 100));
    sock.resetAndDestroy();
    await waitFor(() => t.server.stats().slotsFree === 8);
    await waitFor(() => good.open() <= before);
    assert.deepEqual(t.log.lines.slice(logBefore), []);
  });
});

describe("--fetch-ca", () => {
  it("reads the PEM file once at start-up into the client's options, and refuses a file that is not one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-ca-"));
    try {
      const certs = makeCerts(dir);
      const file = path.join(dir, "ca.pem");
      const config = resolveServeConfig({ "fetch-ca": file }, {});
      assert.equal(config.fetchCaPem, certs.ca);
      assert.equal(serverOptions(config).fetch?.caPem, certs.ca);
      assert.equal(resolveServeConfig({}, { ARENA_FETCH_CA: file }).fetchCaPem, certs.ca);
      assert.equal(serverOptions(resolveServeConfig({}, {})).fetch, undefined);
      assert.throws(() => resolveServeConfig({ "fetch-ca": path.join(dir, "none.pem") }, {}), /--fetch-ca: cannot read .*none\.pem \(ENOENT\)/);
      fs.writeFileSync(path.join(dir, "junk.pem"), "not a certificate\n");
      assert.throws(() => resolveServeConfig({}, { ARENA_FETCH_CA: path.join(dir, "junk.pem") }), /ARENA_FETCH_CA: .*junk\.pem holds no PEM certificate/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
