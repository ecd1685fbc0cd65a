// The JSON parser: Json's entry points and the Parser behind them, one strict pass
// (RFC 8259) over the input bytes that validates them and writes the tape (see tape.ts).
// It reports the first error with its byte offset instead of trapping, and it allocates
// only the tape, a depth stack of JSON_DEPTH_MAX entries and the JsonDoc.

import { utf8SequenceLength } from "../text/utf8";
import { JSON_ARENA_RESERVE_BYTES, JSON_DEPTH_MAX, JSON_INPUT_BYTES_MAX } from "../limits";
import { hexDigit } from "./strings";
import { JsonDoc } from "./value";
import {
  T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_CLOSE, TAG_SHIFT, FLAG, PAYLOAD,
} from "./tape";

/**
 * Parses JSON. Every entry point returns a `JsonDoc`; invalid input gives `doc.ok == false`
 * with a message and the byte offset, never a trap.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + " at byte " + doc.errorPos.toString() + "\n", 400);
 * const name = doc.root.get("user").get("name").strOr("anonymous");
 * ```
 */
export class Json {
  /** Parses `bytes` (no copy: the document reads them until it is dropped, so do not
   *  change them meanwhile). `Json.parse(req.body)` */
  static parse(bytes: Uint8Array): JsonDoc {
    return Json.parseAt(bytes.dataStart, <usize>bytes.length);
  }

  /** Parses `len` bytes at `ptr`, which must stay unchanged while the document is read.
   *  `Json.parseAt(w.dataStart, w.length)` */
  static parseAt(ptr: usize, len: usize): JsonDoc {
    if (len > <usize>JSON_INPUT_BYTES_MAX) {
      return new JsonDoc(ptr, 0, 0, 0, "input larger than JSON_INPUT_BYTES_MAX", 0);
    }
    let parser = new Parser(ptr, <u32>len);
    if (parser.run()) return new JsonDoc(ptr, <u32>len, parser.tape, parser.n, "", -1);
    return new JsonDoc(ptr, <u32>len, 0, 0, parser.error, parser.errorPos);
  }

  /** Parses a string (encoded to UTF-8 first: a copy). For tests and start-up config.
   *  `Json.parseString('{"port":8080}').root.get("port").int()` */
  static parseString(s: string): JsonDoc {
    let buf = String.UTF8.encode(s, false);
    return Json.parseAt(changetype<usize>(buf), <usize>buf.byteLength);
  }
}

/**
 * Parses `len` bytes at `p` into a tape: after `run()`, `tape` and `n` (its entries) when it
 * returned true, else `error` and `errorPos`. Json.parseAt is its one user.
 * `let parser = new Parser(ptr, len); if (parser.run()) …`
 */
@final
export class Parser {
  p: usize;
  len: u32;
  tape: usize = 0; // an ArrayBuffer, grown in place (it is the arena's last block)
  cap: u32 = 0;
  n: u32 = 0;
  error: string = "";
  errorPos: i32 = -1;
  // Set when the tape could not grow in the arena: the parse stops with an error value.
  tooLarge: bool = false;

  constructor(p: usize, len: u32) {
    this.p = p;
    this.len = len;
  }

  fail(msg: string, pos: u32): bool {
    if (this.tooLarge) return false; // the first error stands
    this.error = msg;
    this.errorPos = <i32>pos;
    return false;
  }

  emit(w0: u32, w1: u32): void {
    let n = this.n;
    if (n == this.cap) {
      if (this.tooLarge) return;
      // The tape is the arena's last block, so growing is in place, without a copy; 1.5×
      // keeps the unused tail small. A tape the arena cannot hold (a dense document near
      // the body limit) is an error value, with room left for the app's error response.
      let cap = this.cap + (this.cap >> 1);
      if ((<usize>(cap - this.cap) << 3) + JSON_ARENA_RESERVE_BYTES > __arena_room()) {
        this.fail("document too large for the request's arena (" + n.toString() + " values parsed)", this.len);
        this.tooLarge = true;
        return;
      }
      this.tape = __renew(this.tape, <usize>cap << 3);
      this.cap = cap;
    }
    store<u64>(this.tape + (<usize>n << 3), (<u64>w1 << 32) | <u64>w0);
    this.n = n + 1;
  }

  skipWs(i: u32): u32 {
    let p = this.p;
    let len = this.len;
    while (i < len) {
      let c = load<u8>(p + <usize>i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      i++;
    }
    return i;
  }

  /** Scans the string whose quote is at `q`, emits it, and returns the index past its
   *  closing quote, or 0 (never a valid end) after `fail`. */
  string(q: u32): u32 {
    let p = this.p;
    let len = this.len;
    let i = q + 1;
    let esc: u32 = 0;
    for (;;) {
      // Eight bytes at a time until one is a quote, a backslash, a control character or
      // not ASCII; the lowest flagged byte is exact (borrows only propagate upwards).
      while (i + 8 <= len) {
        let x = load<u64>(p + <usize>i);
        const ONES: u64 = 0x0101010101010101;
        let qx = x ^ (ONES * 0x22);
        let bx = x ^ (ONES * 0x5c);
        let m = (((x - ONES * 0x20) & ~x) | ((qx - ONES) & ~qx) | ((bx - ONES) & ~bx) | x) & (ONES * 0x80);
        if (m != 0) {
          i += <u32>(ctz(m) >> 3);
          break;
        }
        i += 8;
      }
      if (i >= len) return <u32>this.fail("unterminated string", q);
      let c = <u32>load<u8>(p + <usize>i);
      if (c == 0x22) break;
      if (c == 0x5c) {
        esc = FLAG;
        if (i + 1 >= len) return <u32>this.fail("unterminated string", q);
        let e = <u32>load<u8>(p + <usize>i + 1);
        if (e == 0x75) {
          if (i + 6 > len ||
            (hexDigit(load<u8>(p + <usize>i + 2)) | hexDigit(load<u8>(p + <usize>i + 3)) |
              hexDigit(load<u8>(p + <usize>i + 4)) | hexDigit(load<u8>(p + <usize>i + 5))) > 15) {
            return <u32>this.fail("invalid \\u escape: expected 4 hex digits", i);
          }
          i += 6;
        } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
          i += 2;
        } else {
          return <u32>this.fail("invalid escape", i);
        }
      } else if (c < 0x20) {
        return <u32>this.fail("control character in string (must be escaped)", i);
      } else if (c >= 0x80) {
        let k = utf8SequenceLength(p + <usize>i, <usize>(len - i));
        if (k == 0) return <u32>this.fail("invalid UTF-8", i);
        i += <u32>k;
      } else {
        i++;
      }
    }
    this.emit(q + 1, (T_STRING << TAG_SHIFT) | esc | (i - q - 1));
    return i + 1;
  }

  /** Scans and emits the number starting at `start`; returns the index past it or 0. */
  number(start: u32): u32 {
    let p = this.p;
    let len = this.len;
    let i = start;
    let intFlag = FLAG;
    if (load<u8>(p + <usize>i) == 0x2d) i++;
    if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) {
      return <u32>this.fail("expected a digit after '-'", i);
    }
    if (load<u8>(p + <usize>i) == 0x30) {
      i++;
      if (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) {
        return <u32>this.fail("leading zeros are not allowed", i);
      }
    } else {
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    if (i < len && load<u8>(p + <usize>i) == 0x2e) {
      intFlag = 0;
      i++;
      if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) return <u32>this.fail("expected a digit after '.'", i);
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    if (i < len && (load<u8>(p + <usize>i) | 0x20) == 0x65) {
      intFlag = 0;
      i++;
      if (i < len && (load<u8>(p + <usize>i) == 0x2b || load<u8>(p + <usize>i) == 0x2d)) i++;
      if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) return <u32>this.fail("expected a digit in the exponent", i);
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    this.emit(start, (T_NUMBER << TAG_SHIFT) | intFlag | (i - start));
    return i;
  }

  /** Scans a key string and its colon; returns the index where the value starts, or 0. */
  key(i: u32): u32 {
    if (i >= this.len) return <u32>this.fail("unexpected end of input", i);
    if (load<u8>(this.p + <usize>i) != 0x22) return <u32>this.fail("expected a string key", i);
    i = this.string(i);
    if (i == 0) return 0;
    i = this.skipWs(i);
    if (i >= this.len) return <u32>this.fail("unexpected end of input", i);
    if (load<u8>(this.p + <usize>i) != 0x3a) return <u32>this.fail("expected ':' after an object key", i);
    return i + 1;
  }

  /** Scans and emits the string, number, true, false or null whose first byte `c` is at
   *  `i`; returns the index past it, or 0 after `fail`. A step of run(), inlined there. */
  // @ts-ignore: decorator
  @inline scalar(c: u32, i: u32): u32 {
    let p = this.p;
    let len = this.len;
    if (c == 0x22) return this.string(i);
    if (c == 0x2d || c - 0x30 < 10) return this.number(i);
    if (c == 0x74 && i + 4 <= len && load<u32>(p + <usize>i) == 0x65757274) {
      this.emit(i, T_TRUE << TAG_SHIFT);
      return i + 4;
    }
    if (c == 0x66 && i + 5 <= len && load<u32>(p + <usize>i) == 0x736c6166 && load<u8>(p + <usize>i + 4) == 0x65) {
      this.emit(i, T_FALSE << TAG_SHIFT);
      return i + 5;
    }
    if (c == 0x6e && i + 4 <= len && load<u32>(p + <usize>i) == 0x6c6c756e) {
      this.emit(i, T_NULL << TAG_SHIFT);
      return i + 4;
    }
    return <u32>this.fail("expected a value", i);
  }

  /** Ends the parse after the top-level value, which ended at `i`: only whitespace may
   *  follow. A step of run(), inlined there. */
  // @ts-ignore: decorator
  @inline finish(i: u32): bool {
    if (this.tooLarge) return false;
    i = this.skipWs(i);
    if (i < this.len) return this.fail("unexpected data after the JSON value", i);
    // Give the unused tail back to the arena (in place: the tape is its last block).
    this.tape = __renew(this.tape, <usize>this.n << 3);
    return true;
  }

  /** Parses the whole input; true when it is one valid JSON text. */
  run(): bool {
    let p = this.p;
    let len = this.len;
    // Typical JSON has a value every 8–16 bytes; start at one per 32 and grow.
    this.cap = max<u32>(16, len >> 5);
    // The depth stack is allocated before the tape so the tape stays the arena's last block.
    let stack = new StaticArray<u32>(JSON_DEPTH_MAX);
    this.tape = __new(<usize>this.cap << 3, idof<ArrayBuffer>());
    let depth = 0;
    let i: u32 = 0;
    for (;;) {
      if (this.tooLarge) return false;
      // A value starts here.
      i = this.skipWs(i);
      if (i >= len) return this.fail("unexpected end of input", i);
      let c = <u32>load<u8>(p + <usize>i);
      if (c == 0x5b || c == 0x7b) {
        if (depth == JSON_DEPTH_MAX) return this.fail("nesting deeper than JSON_DEPTH_MAX (" + JSON_DEPTH_MAX.toString() + ")", i);
        unchecked(stack[depth++] = this.n);
        this.emit(i, (c == 0x5b ? T_ARRAY : T_OBJECT) << TAG_SHIFT);
        i = this.skipWs(i + 1);
        if (i < len && load<u8>(p + <usize>i) == c + 2) {
          // Empty: "[]" or "{}" ("]" and "}" are two past their openers).
          if (!this.close(stack[--depth], i, 0)) return false;
          i++;
        } else if (c == 0x7b) {
          i = this.key(i);
          if (i == 0) return false;
          continue;
        } else {
          continue;
        }
      } else {
        i = this.scalar(c, i);
        if (i == 0) return false;
      }
      // A value ended: continue its container, or close containers as they end.
      for (;;) {
        if (depth == 0) return this.finish(i);
        let open = unchecked(stack[depth - 1]);
        let isObject = (load<u32>(this.tape + (<usize>open << 3), 4) >> TAG_SHIFT) == T_OBJECT;
        // The count so far lives in the open entry's payload until the container closes.
        let countAddr = this.tape + (<usize>open << 3) + 4;
        store<u32>(countAddr, load<u32>(countAddr) + 1);
        i = this.skipWs(i);
        if (i >= len) return this.fail("unexpected end of input", i);
        c = <u32>load<u8>(p + <usize>i);
        if (c == 0x2c) {
          i++;
          if (isObject) {
            i = this.key(this.skipWs(i));
            if (i == 0) return false;
          }
          break;
        }
        if (c == (isObject ? 0x7d : 0x5d)) {
          depth--;
          if (!this.close(open, i, load<u32>(countAddr) & PAYLOAD)) return false;
          i++;
          continue;
        }
        return this.fail(isObject ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element", i);
      }
    }
    return false; // unreachable: the loop only exits by returning
  }

  /** Emits the CLOSE entry for the container opened at tape index `open`. */
  close(open: u32, at: u32, count: u32): bool {
    this.emit(count, (T_CLOSE << TAG_SHIFT) | at);
    let addr = this.tape + (<usize>open << 3) + 4;
    store<u32>(addr, (load<u32>(addr) & ~PAYLOAD) | this.n);
    return true;
  }
}
