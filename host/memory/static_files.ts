// The static files of --static as every worker holds them: their bytes in one
// SharedArrayBuffer of the device region (loaded once, by host/memory/static_load.ts), and
// per file its variants (identity, and gzip or brotli when there is one), each with its
// strong ETag and the header lines of its 200 and its 304, encoded once at load. A request
// path is looked up without making a string: it is percent-decoded into a scratch buffer,
// hashed, and compared byte for byte with the paths loaded.
//
// Only paths in this table are ever served, and the table holds the files found under the
// folder at start (no symlink followed, no dotfile, no name with a backslash or a control
// byte): `..`, `//`, `\` or NUL in a request never match a key, whatever their encoding,
// so no request can name a file outside the folder. An encoded slash (%2F), backslash
// (%5C) or NUL (%00) is refused before the lookup, so `/a%2Fb.css` is not `/a/b.css`.

import { URI_BYTES_MAX } from "../limits.ts";

/** The codings of a variant (the same numbers as host/http/compress.ts's ENC_*). */
export const STATIC_IDENTITY = 0;
export const STATIC_GZIP = 1;
export const STATIC_BR = 2;

/** Cache-Control of every static response: the files are not fingerprinted (a deploy may
 *  change style.css under the same name), so a browser keeps them but asks every time;
 *  the answer is a 304 without a body while the ETag matches. */
export const STATIC_CACHE_CONTROL = "public, max-age=0, must-revalidate";

/** One variant as it crosses to a worker thread. */
export interface StaticVariantData {
  encoding: number;
  /** Where its bytes are in StaticFilesData.bytes. */
  offset: number;
  length: number;
  /** The strong ETag, quotes included. */
  etag: string;
}

/** One file as it crosses to a worker thread. */
export interface StaticFileData {
  /** The URL path it answers, "/" + its path under the folder ("/css/site.css"). */
  path: string;
  contentType: string;
  /** Identity first, then the compressed ones the loader kept. */
  variants: StaticVariantData[];
}

/** The loaded folder, as it crosses to a worker thread (structured clone; the bytes are
 *  shared, not copied). */
export interface StaticFilesData {
  dir: string;
  bytes: SharedArrayBuffer;
  files: StaticFileData[];
  /** Extra paths that name a file: "/docs/" for /docs/index.html. */
  aliases: [string, number][];
}

const encoder = new TextEncoder();

/** One variant, ready to send. */
export class StaticVariant {
  readonly encoding: number;
  readonly body: Uint8Array;
  readonly etag: Uint8Array;
  /** The header lines of a 200: Content-Type, ETag, Cache-Control, and Content-Encoding
   *  and Vary when the file has compressed variants. */
  readonly head200: Uint8Array;
  /** The header lines of a 304: ETag, Cache-Control, Vary. */
  readonly head304: Uint8Array;

  constructor(d: StaticVariantData, bytes: SharedArrayBuffer, contentType: string, varies: boolean) {
    this.encoding = d.encoding;
    this.body = new Uint8Array(bytes, d.offset, d.length);
    this.etag = encoder.encode(d.etag);
    const vary = varies ? "Vary: Accept-Encoding\r\n" : "";
    const ce = d.encoding === STATIC_BR ? "Content-Encoding: br\r\n" : d.encoding === STATIC_GZIP ? "Content-Encoding: gzip\r\n" : "";
    const common = `ETag: ${d.etag}\r\nCache-Control: ${STATIC_CACHE_CONTROL}\r\n${vary}`;
    this.head200 = encoder.encode(`Content-Type: ${contentType}\r\n${common}${ce}`);
    this.head304 = encoder.encode(common);
  }
}

/** One file: the variants a request can get. */
export class StaticFile {
  readonly path: Uint8Array;
  readonly identity: StaticVariant;
  readonly gzip: StaticVariant | null;
  readonly br: StaticVariant | null;

  constructor(d: StaticFileData, bytes: SharedArrayBuffer) {
    this.path = encoder.encode(d.path);
    const varies = d.variants.length > 1;
    const of = (enc: number) => {
      const v = d.variants.find((x) => x.encoding === enc);
      return v === undefined ? null : new StaticVariant(v, bytes, d.contentType, varies);
    };
    this.identity = of(STATIC_IDENTITY)!;
    this.gzip = of(STATIC_GZIP);
    this.br = of(STATIC_BR);
  }
}

/** FNV-1a over buf[start, end): the lookup's hash. */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
}

/** The files of one folder, in one worker. */
export class StaticFiles {
  readonly data: StaticFilesData;
  /** Bytes they take in the device region (every variant). */
  readonly bytes: number;
  /** Path bytes → file, by the hash of the bytes (a file's path and its aliases). */
  private readonly byHash = new Map<number, { key: Uint8Array; file: StaticFile }[]>();
  private readonly byPath = new Map<string, StaticFile>();
  /** Where a request path is percent-decoded. */
  private readonly scratch = new Uint8Array(URI_BYTES_MAX);

  private constructor(data: StaticFilesData) {
    this.data = data;
    this.bytes = data.bytes.byteLength;
    const files = data.files.map((f) => new StaticFile(f, data.bytes));
    const add = (path: string, file: StaticFile) => {
      this.byPath.set(path, file);
      const key = encoder.encode(path);
      const h = hashBytes(key, 0, key.length);
      const list = this.byHash.get(h) ?? [];
      list.push({ key, file });
      this.byHash.set(h, list);
    };
    data.files.forEach((f, i) => add(f.path, files[i]));
    for (const [path, i] of data.aliases) add(path, files[i]);
  }

  /** The files `data` describes (in this thread: the bytes are shared). */
  static attach(data: StaticFilesData): StaticFiles {
    return new StaticFiles(data);
  }

  /** How many files (not counting aliases). */
  get count(): number {
    return this.data.files.length;
  }

  /** The identity bytes of the file at URL path `path`, or null (Device.open). */
  bodyOf(path: string): Uint8Array | null {
    return this.byPath.get(path)?.identity.body ?? null;
  }

  /**
   * The file the request path buf[start, end) names (not decoded yet, no query), or null:
   * percent-decoded into the scratch buffer, refusing a malformed escape and an encoded
   * slash, backslash or NUL, then looked up by hash and compared byte for byte.
   */
  find(buf: Uint8Array, start: number, end: number): StaticFile | null {
    const s = this.scratch;
    let n = 0;
    for (let i = start; i < end; i++) {
      let c = buf[i];
      if (c === 0x25) { // '%'
        if (i + 2 >= end) return null;
        const hi = hexValue(buf[i + 1]);
        const lo = hexValue(buf[i + 2]);
        if (hi < 0 || lo < 0) return null;
        c = hi * 16 + lo;
        if (c === 0x2f || c === 0x5c || c === 0) return null;
        i += 2;
      }
      if (n >= s.length) return null;
      s[n++] = c;
    }
    const list = this.byHash.get(hashBytes(s, 0, n));
    if (list === undefined) return null;
    for (const e of list) {
      const p = e.key;
      if (p.length !== n) continue;
      let same = true;
      for (let i = 0; i < n && same; i++) same = p[i] === s[i];
      if (same) return e.file;
    }
    return null;
  }
}
