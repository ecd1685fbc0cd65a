// Loads the folder of --static into the device region, once, at start (in the primary:
// its workers attach to the same bytes). Every regular file under the folder is read, with
// three exceptions: dotfiles and dot-folders (.env, .git) are never served, symlinks are
// not followed (one could point outside the folder), and a name with a backslash or a
// control byte is skipped (no URL names it the same way on every client). `x.br` and `x.gz`
// beside a file `x` are its precompressed variants, used as they are; a compressible file
// without them is compressed here, once (brotli at its best quality, gzip at 9), and a
// variant is kept only when it is smaller. Each variant's strong ETag is the SHA-256 of
// the file's bytes with the coding named, so it differs per encoding.
//
// Everything is checked before anything is served: the folder must exist and be readable,
// the files must fit the device region's bound (--device-bytes) and STATIC_FILES_MAX; each
// failure is one ArenaError line that names the flag to change.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { ArenaError } from "../errors.ts";
import { DEVICE_BUFFER_BYTES_MAX, STATIC_COMPRESS_BYTES_MAX, STATIC_FILES_MAX } from "../limits.ts";
import { formatBytes } from "./plan.ts";
import { STATIC_BR, STATIC_GZIP, STATIC_IDENTITY, StaticFiles, type StaticFileData, type StaticFilesData } from "./static_files.ts";

/** Content types by extension; anything else is application/octet-stream. Text types say
 *  their charset: a browser guessing it is how mojibake happens. */
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  map: "application/json",
  svg: "image/svg+xml",
  xml: "application/xml",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  webmanifest: "application/manifest+json",
  wasm: "application/wasm",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  woff2: "font/woff2",
  woff: "font/woff",
  ttf: "font/ttf",
  otf: "font/otf",
  mp4: "video/mp4",
  webm: "video/webm",
  pdf: "application/pdf",
};

/** Extensions worth compressing at load: text, and wasm (which shrinks by half or more).
 *  Images and fonts are compressed formats already. */
const COMPRESSIBLE = new Set(["html", "htm", "css", "js", "mjs", "json", "map", "svg", "xml", "txt", "csv", "webmanifest", "wasm", "ttf", "otf"]);

/** The content type of file name `name`. */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot < 0 ? undefined : TYPES[name.slice(dot + 1).toLowerCase()]) ?? "application/octet-stream";
}

const FIX_BYTES = "raise --device-bytes (env ARENA_DEVICE_BYTES), or serve fewer files";

/** A file found under the folder: its URL path and where it is on disk. */
interface Found {
  url: string;
  file: string;
  size: number;
}

/** Whether a name is served: no dotfile, no backslash or control byte. */
function servable(name: string): boolean {
  return !name.startsWith(".") && !/[\\\x00-\x1f\x7f]/.test(name);
}

// ignoreBOM: a name that starts with a byte-order mark keeps it (decoded without, it would
// name another file, or none).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A name read as bytes, as UTF-8, or null when it is not (no URL can name it). */
function utf8Name(name: Buffer): string | null {
  try {
    return strictUtf8.decode(name);
  } catch {
    return null;
  }
}

/** Every servable regular file under `dir`, symlinks not followed; a name that is not
 *  UTF-8 is skipped (read as text it would name another file, or none). */
function walk(dir: string, url: string, out: Found[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: "buffer" })) {
    const name = utf8Name(e.name);
    if (name === null || !servable(name) || e.isSymbolicLink()) continue;
    const file = path.join(dir, name);
    if (e.isDirectory()) walk(file, `${url}${name}/`, out);
    else if (e.isFile()) out.push({ url: url + name, file, size: statSize(file) });
    if (out.length > STATIC_FILES_MAX) {
      throw new ArenaError("ARENA_E_CONFIG", `--static: ${dir} holds more than STATIC_FILES_MAX (${STATIC_FILES_MAX}) files`, "serve a smaller folder");
    }
  }
}

/** The size of `file`, or one ArenaError that names it. */
function statSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    throw new ArenaError("ARENA_E_CONFIG", `--static: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, "fix or remove that file");
  }
}

/** The bytes of `file`, or one ArenaError that names it (it may have gone since the walk). */
function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ArenaError("ARENA_E_CONFIG", `--static: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, "fix or remove that file");
  }
}

/** The variants of one file, before they are packed: identity first. */
interface Pending {
  url: string;
  contentType: string;
  parts: { encoding: number; bytes: Uint8Array }[];
}

/** Compresses `bytes` when that makes them smaller: the variant, or null. */
function compressed(encoding: number, bytes: Uint8Array): Uint8Array | null {
  const out = encoding === STATIC_BR
    ? zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })
    : zlib.gzipSync(bytes, { level: 9 });
  return out.length < bytes.length ? out : null;
}

/** The file `f` and its variants: the .br / .gz beside it, else made here. */
function variants(f: Found, siblings: Map<string, Found>): Pending {
  const bytes = readFile(f.file);
  const ext = f.url.slice(f.url.lastIndexOf(".") + 1).toLowerCase();
  const parts: Pending["parts"] = [{ encoding: STATIC_IDENTITY, bytes }];
  const compress = COMPRESSIBLE.has(ext) && bytes.length <= STATIC_COMPRESS_BYTES_MAX;
  for (const [encoding, suffix] of [[STATIC_BR, ".br"], [STATIC_GZIP, ".gz"]] as const) {
    const beside = siblings.get(f.url + suffix);
    const v = beside !== undefined ? readFile(beside.file) : compress ? compressed(encoding, bytes) : null;
    if (v !== null) parts.push({ encoding, bytes: v });
  }
  return { url: f.url, contentType: contentTypeOf(f.url), parts };
}

/** The strong ETag of a variant: the content's hash, and the coding when it is one. */
function etagOf(hash: string, encoding: number): string {
  return `"${hash}${encoding === STATIC_BR ? "-br" : encoding === STATIC_GZIP ? "-gz" : ""}"`;
}

/**
 * Loads `dir` for --static into one SharedArrayBuffer; `boundBytes` is the device
 * region's bound (the files must fit it). Throws one ArenaError for a folder that is
 * missing or unreadable, too many files, or files over the bound.
 */
export function loadStatic(dir: string, boundBytes: number): StaticFiles {
  const found: Found[] = [];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new ArenaError("ARENA_E_CONFIG", `--static: ${dir} is not a folder`, "give the folder of the files to serve");
    walk(dir, "/", found);
  } catch (err) {
    if (err instanceof ArenaError) throw err;
    throw new ArenaError("ARENA_E_CONFIG", `--static: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, "give the folder of the files to serve");
  }
  const byUrl = new Map(found.map((f) => [f.url, f]));
  // A .br or .gz beside its original is that file's variant, not a file of its own.
  const originals = found.filter((f) => !((f.url.endsWith(".br") || f.url.endsWith(".gz")) && byUrl.has(f.url.slice(0, -3))));
  const raw = originals.reduce((n, f) => n + f.size, 0);
  if (raw > boundBytes) {
    throw new ArenaError("ARENA_E_CONFIG", `--static: ${dir} holds ${formatBytes(raw)} of files, over the device region's ${formatBytes(boundBytes)}`, FIX_BYTES);
  }
  const big = originals.find((f) => f.size > DEVICE_BUFFER_BYTES_MAX);
  if (big !== undefined) {
    throw new ArenaError("ARENA_E_CONFIG", `--static: ${big.file} is ${formatBytes(big.size)}, over DEVICE_BUFFER_BYTES_MAX (${formatBytes(DEVICE_BUFFER_BYTES_MAX)})`, "serve it from elsewhere");
  }
  const pending = originals.map((f) => variants(f, byUrl));
  const total = pending.reduce((n, p) => n + p.parts.reduce((m, v) => m + v.bytes.length, 0), 0);
  if (total > boundBytes) {
    throw new ArenaError("ARENA_E_CONFIG", `--static: ${dir} holds ${formatBytes(total)} with its compressed variants, over the device region's ${formatBytes(boundBytes)}`, FIX_BYTES);
  }
  return StaticFiles.attach(pack(dir, pending, total));
}

/** Copies every variant into one SharedArrayBuffer and describes where each is. */
function pack(dir: string, pending: Pending[], total: number): StaticFilesData {
  const bytes = new SharedArrayBuffer(total);
  const u8 = new Uint8Array(bytes);
  let at = 0;
  const files: StaticFileData[] = pending.map((p) => {
    const hash = crypto.createHash("sha256").update(p.parts[0].bytes).digest("base64url").slice(0, 27);
    const variants = p.parts.map((v) => {
      u8.set(v.bytes, at);
      const d = { encoding: v.encoding, offset: at, length: v.bytes.length, etag: etagOf(hash, v.encoding) };
      at += v.bytes.length;
      return d;
    });
    return { path: p.url, contentType: p.contentType, variants };
  });
  // "/dir/" answers with dir/index.html, "/" with index.html.
  const aliases: [string, number][] = [];
  files.forEach((f, i) => {
    if (f.path.endsWith("/index.html")) aliases.push([f.path.slice(0, -"index.html".length), i]);
  });
  return { dir, bytes, files, aliases };
}
