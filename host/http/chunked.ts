// Chunked transfer-coding decoder (RFC 9112 §7.1) that writes the decoded body straight
// into the request's arena. Incremental: bytes may arrive split anywhere. Chunk
// extensions are accepted and ignored; trailer fields are read, checked and discarded.
// Bare LF, bare CR and malformed sizes are errors (request smuggling defence). Every byte
// of framing counts against a bound (extensions: CHUNK_EXT_BYTES_MAX; digits and CRLFs:
// the body limit, at least CHUNK_FRAMING_BYTES_MIN; trailers: TRAILER_BYTES_MAX), so a
// chunked body cannot cost much more to read than the body limit allows.

import { CHUNK_EXT_BYTES_MAX, CHUNK_FRAMING_BYTES_MIN, CHUNK_LINE_BYTES_MAX, TRAILER_BYTES_MAX } from "../limits.ts";

export const CHUNKED_MORE = 0;
export const CHUNKED_DONE = 1;
export const CHUNKED_MALFORMED = -1;
export const CHUNKED_TOO_LARGE = -2;

const SIZE = 0; // hex digits of a chunk size
const SIZE_WS = 1; // BWS after the size, before ';' or CR
const EXT = 2; // chunk extension, up to CR
const SIZE_LF = 3; // LF after the size line's CR
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7; // start of a trailer line, or the final CRLF
const TRAILER = 8;
const TRAILER_LF = 9;
const FINAL_LF = 10;
const DONE = 11;

const CR = 0x0d;
const LF = 0x0a;

/** Chunk data up to this many bytes is copied by a loop rather than through a view. */
const SMALL_COPY_BYTES = 16;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** One decoder per connection, reset for each chunked request. */
export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** Extension bytes (and whitespace after the size) in this body, all lines together. */
  private extBytes = 0;
  /** Size digits and CRLFs in this body. */
  private framingBytes = 0;
  /** Bytes decoded so far (the body length). */
  length = 0;
  /** Position in src after the last feed() call. */
  consumed = 0;
  /** Why decoding failed; a constant string. */
  reason = "";

  reset(): void {
    this.state = SIZE;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.extBytes = 0;
    this.framingBytes = 0;
    this.length = 0;
    this.consumed = 0;
    this.reason = "";
  }

  /**
   * Decodes src[start, end) into dst at dstStart + length, never past dstStart + max.
   * Returns CHUNKED_DONE (consumed says where the next request begins), CHUNKED_MORE, or a
   * negative error.
   */
  feed(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstStart: number, max: number): number {
    // Too much framing is 413, not 400: it is well formed, there is just more of it than
    // the server takes for one body, which is what 413 says (Node answers 413 for too many
    // extension bytes too).
    const framingMax = Math.max(max, CHUNK_FRAMING_BYTES_MIN);
    let i = start;
    while (i < end) {
      const c = src[i];
      switch (this.state) {
        case SIZE: {
          const d = hexDigit(c);
          if (d >= 0) {
            this.size = this.size * 16 + d;
            this.digits++;
            // Compare as we go so a long run of digits can neither overflow nor slip by.
            if (this.size > max - this.length) return this.error(CHUNKED_TOO_LARGE, `chunked body over the body limit of ${max} bytes`, i);
            // Leading zeros leave the size as it is: only this bounds a run of them.
            if (++this.framingBytes > framingMax) return this.framingError(i);
            i++;
            break;
          }
          if (this.digits === 0) return this.error(CHUNKED_MALFORMED, "malformed chunk size", i);
          if (c === CR) { this.state = SIZE_LF; i++; break; }
          if (c === 0x3b) {
            if (++this.extBytes > CHUNK_EXT_BYTES_MAX) return this.extError(i);
            this.state = EXT;
            i++;
            break;
          }
          if (c === 0x20 || c === 0x09) {
            if (++this.extBytes > CHUNK_EXT_BYTES_MAX) return this.extError(i);
            this.state = SIZE_WS;
            i++;
            break;
          }
          return this.error(CHUNKED_MALFORMED, "malformed chunk size", i);
        }
        case SIZE_WS:
          if (c === 0x20 || c === 0x09 || c === 0x3b) {
            if (++this.extBytes > CHUNK_EXT_BYTES_MAX) return this.extError(i);
            if (c === 0x3b) this.state = EXT;
            i++;
            break;
          }
          if (c === CR) { this.state = SIZE_LF; i++; break; }
          return this.error(CHUNKED_MALFORMED, "malformed chunk size line", i);
        case EXT:
          if (c === CR) { this.state = SIZE_LF; i++; break; }
          if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.error(CHUNKED_MALFORMED, "control character in chunk extension", i);
          if (++this.lineBytes > CHUNK_LINE_BYTES_MAX) return this.error(CHUNKED_MALFORMED, "chunk extension longer than CHUNK_LINE_BYTES_MAX", i);
          if (++this.extBytes > CHUNK_EXT_BYTES_MAX) return this.extError(i);
          i++;
          break;
        case SIZE_LF:
          if (c !== LF) return this.error(CHUNKED_MALFORMED, "bare CR in chunk size line", i);
          this.framingBytes += 2;
          if (this.framingBytes > framingMax) return this.framingError(i);
          i++;
          this.lineBytes = 0;
          this.state = this.size === 0 ? TRAILER_START : DATA;
          break;
        case DATA: {
          const n = Math.min(this.size, end - i);
          if (n <= SMALL_COPY_BYTES) {
            // A byte loop: a subarray view per tiny chunk would cost more than the copy.
            const at = dstStart + this.length;
            for (let k = 0; k < n; k++) dst[at + k] = src[i + k];
          } else {
            dst.set(src.subarray(i, i + n), dstStart + this.length);
          }
          this.length += n;
          this.size -= n;
          i += n;
          if (this.size === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (c !== CR) return this.error(CHUNKED_MALFORMED, "chunk data longer than its size", i);
          this.state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (c !== LF) return this.error(CHUNKED_MALFORMED, "bare CR after chunk data", i);
          this.framingBytes += 2;
          if (this.framingBytes > framingMax) return this.framingError(i);
          this.state = SIZE;
          this.digits = 0;
          i++;
          break;
        case TRAILER_START:
          if (c === CR) { this.state = FINAL_LF; i++; break; }
          if (c === 0x20 || c === 0x09) return this.error(CHUNKED_MALFORMED, "obsolete line folding in trailer", i);
          this.state = TRAILER;
          break;
        case TRAILER:
          if (c === CR) { this.state = TRAILER_LF; i++; break; }
          if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.error(CHUNKED_MALFORMED, "control character in trailer", i);
          if (++this.trailerBytes > TRAILER_BYTES_MAX) return this.error(CHUNKED_MALFORMED, "trailer section larger than TRAILER_BYTES_MAX", i);
          i++;
          break;
        case TRAILER_LF:
          if (c !== LF) return this.error(CHUNKED_MALFORMED, "bare CR in trailer", i);
          this.state = TRAILER_START;
          i++;
          break;
        case FINAL_LF:
          if (c !== LF) return this.error(CHUNKED_MALFORMED, "bare CR at end of chunked body", i);
          this.state = DONE;
          this.consumed = i + 1;
          return CHUNKED_DONE;
        default:
          return this.error(CHUNKED_MALFORMED, "data after the end of a chunked body", i);
      }
    }
    this.consumed = i;
    return CHUNKED_MORE;
  }

  private extError(at: number): number {
    return this.error(CHUNKED_TOO_LARGE, "chunk extensions over CHUNK_EXT_BYTES_MAX in one body", at);
  }

  private framingError(at: number): number {
    return this.error(CHUNKED_TOO_LARGE, "chunked framing (size digits and CRLFs) over the body limit: too many tiny chunks or leading zeros", at);
  }

  private error(result: number, reason: string, at: number): number {
    this.reason = reason;
    this.consumed = at;
    return result;
  }
}
