// The JSON entry points. Both modes build the structural index first (stage1.ts):
// `Json.parse` then validates the whole document strictly (validate.ts) before the app reads
// anything; `Json.read` stops there and checks each value where the app reads it (nav.ts).
// Either way the app reads with the same JsonDoc / JsonValue handles (value.ts), errors are
// values with a byte offset, never a trap, and the index lives in the request's arena.

import { JSON_INPUT_BYTES_MAX } from "../limits";
import { JsonDoc } from "./value";
import { buildIndex } from "./stage1";
import { strictCheck } from "./validate";

/**
 * Reads JSON. Every entry point returns a `JsonDoc`; invalid input gives `doc.ok == false`
 * with a message and the byte offset, never a trap. `parse` checks the whole text first
 * (RFC 8259); `read` checks only what the app reads, which is faster when it reads a part.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + " at byte " + doc.errorPos.toString() + "\n", 400);
 * const name = doc.root.get("user").get("name").strOr("anonymous");
 * ```
 */
export class Json {
  /** Parses `bytes` strictly (no copy: the document reads them until it is dropped, so do
   *  not change them meanwhile). `Json.parse(req.body)` */
  static parse(bytes: Uint8Array): JsonDoc {
    return Json.parseAt(bytes.dataStart, <usize>bytes.length);
  }

  /** Parses `len` bytes at `ptr` strictly; they must stay unchanged while the document is
   *  read. `Json.parseAt(w.dataStart, w.length)` */
  static parseAt(ptr: usize, len: usize): JsonDoc {
    let doc = Json.index(ptr, len);
    if (doc.dead) return doc;
    strictCheck(doc, <u32>len);
    doc.dead = !doc.ok;
    return doc;
  }

  /** Parses a string (encoded to UTF-8 first: a copy). For tests and start-up config.
   *  `Json.parseString('{"port":8080}').root.get("port").int()` */
  static parseString(s: string): JsonDoc {
    let buf = String.UTF8.encode(s, false);
    return Json.parseAt(changetype<usize>(buf), <usize>buf.byteLength);
  }

  /**
   * Reads `bytes` on demand: only the structural index is built up front (UTF-8, control
   * characters and string ends are checked there); each value is checked when the app
   * reaches it, a malformed one reads as MISSING and records the first error, so check
   * `doc.ok` after reading (or call `doc.validate()` for the strict check). No copy.
   *
   * ```ts
   * const doc = Json.read(req.body);
   * const id = doc.root.get("id").intOr(0);
   * if (!doc.ok) return Response.text(doc.error + "\n", 400);
   * ```
   */
  static read(bytes: Uint8Array): JsonDoc {
    return Json.readAt(bytes.dataStart, <usize>bytes.length);
  }

  /** `Json.read` of `len` bytes at `ptr`, which must stay unchanged while the document is
   *  read. `Json.readAt(changetype<usize>(buf), buf.byteLength)` */
  static readAt(ptr: usize, len: usize): JsonDoc {
    let doc = Json.index(ptr, len);
    if (doc.dead) return doc;
    if (doc.truncated) {
      doc.fail("document too large for the request's arena (" + doc.entries.toString() + " values parsed)", <u32>len);
    } else if (doc.stage1Pos >= 0) {
      doc.fail(doc.stage1Err, doc.stage1Pos);
    }
    doc.dead = doc.errPos >= 0;
    return doc;
  }

  /** `Json.read` of a string (encoded to UTF-8 first: a copy).
   *  `Json.readString('{"port":8080}').root.get("port").int()` */
  static readString(s: string): JsonDoc {
    let buf = String.UTF8.encode(s, false);
    return Json.readAt(changetype<usize>(buf), <usize>buf.byteLength);
  }

  // The document with its index (stage 1), or dead with the error when it cannot have one.
  private static index(ptr: usize, len: usize): JsonDoc {
    if (len > <usize>JSON_INPUT_BYTES_MAX) {
      let doc = new JsonDoc(ptr, 0);
      doc.fail("input larger than JSON_INPUT_BYTES_MAX", 0);
      doc.dead = true;
      return doc;
    }
    let doc = new JsonDoc(ptr, <u32>len);
    buildIndex(doc);
    return doc;
  }
}
