// An upstream response's body, read into the request's arena by its framing (RFC 9112
// §6.3): none (HEAD, 204, 304), Content-Length, chunked (decoded as it arrives), or
// until the upstream closes the connection.

import { CHUNKED_DONE, CHUNKED_MORE, CHUNKED_TOO_LARGE, ChunkedDecoder } from "../../http/chunked.ts";
import { copyBytes } from "../../memory/copy.ts";
import type { ResponseHead } from "./response_parser.ts";

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_UNTIL_CLOSE = 3;

/** begin() and feed() results. */
export const BODY_MORE = 0;
export const BODY_DONE = 1;
/** Over `max`: the declared length (begin) or the bytes so far (feed). */
export const BODY_TOO_LARGE = 2;
/** The chunked framing is broken; `reason` says how. */
export const BODY_MALFORMED = 3;

/** One fetch's body; reused for every fetch of its slot. */
export class BodyReader {
  private mode = BODY_NONE;
  /** Where the body goes in the arena, and how much of it is there. */
  start = 0;
  length = 0;
  /** The most it may take: the fetch's limit, or what is free in the arena. */
  max = 0;
  /** Bytes a Content-Length body still expects. */
  private remaining = 0;
  /** The connection cannot carry another response: the body ends at close, or bytes came
   *  past its end (the upstream is out of step). */
  spoilsConnection = false;
  private readonly chunked = new ChunkedDecoder();

  /** Why the chunked framing is broken (BODY_MALFORMED). */
  get reason(): string {
    return this.chunked.reason;
  }

  /** Whether the body is decoded as it arrives (chunked): its bytes cannot move in place. */
  get decodes(): boolean {
    return this.mode === BODY_CHUNKED;
  }

  /** Whether the body ends when the upstream closes the connection. */
  get endsAtClose(): boolean {
    return this.mode === BODY_UNTIL_CLOSE;
  }

  /**
   * Sets up for the body that follows `head`, written from `start` with at most `max`
   * bytes: BODY_DONE when there is none (or it is empty), BODY_TOO_LARGE when its declared
   * length is over `max`, else BODY_MORE.
   */
  begin(head: ResponseHead, expectBody: boolean, start: number, max: number): number {
    this.start = start;
    this.length = 0;
    this.max = max;
    this.spoilsConnection = false;
    const status = head.status;
    if (!expectBody || status === 204 || status === 304) {
      this.mode = BODY_NONE;
      return BODY_DONE;
    }
    if (head.chunked) {
      this.mode = BODY_CHUNKED;
      this.chunked.reset();
      return BODY_MORE;
    }
    if (head.contentLength >= 0) {
      this.mode = BODY_LENGTH;
      this.remaining = head.contentLength;
      if (head.contentLength > max) return BODY_TOO_LARGE;
      return head.contentLength === 0 ? BODY_DONE : BODY_MORE;
    }
    this.mode = BODY_UNTIL_CLOSE;
    this.spoilsConnection = true;
    return BODY_MORE;
  }

  /** Takes the body bytes src[from, end) into u8 (src may be u8 itself: the bytes move). */
  feed(src: Uint8Array, from: number, end: number, u8: Uint8Array): number {
    if (this.mode === BODY_CHUNKED) {
      const dec = this.chunked;
      const r = dec.feed(src, from, end, u8, this.start, this.max);
      this.length = dec.length;
      if (r === CHUNKED_DONE) {
        if (dec.consumed < end) this.spoilsConnection = true;
        return BODY_DONE;
      }
      if (r === CHUNKED_MORE) return BODY_MORE;
      // The decoder refuses a chunk size past the room left before any of its data is
      // written, so the length decoded so far is below the limit: say why, not how much.
      return r === CHUNKED_TOO_LARGE ? BODY_TOO_LARGE : BODY_MALFORMED;
    }
    let take = end - from;
    if (this.mode === BODY_LENGTH) {
      if (take > this.remaining) {
        take = this.remaining;
        this.spoilsConnection = true;
      }
    } else if (this.length + take > this.max) {
      return BODY_TOO_LARGE;
    }
    if (src === u8) u8.copyWithin(this.start + this.length, from, from + take); // may overlap: memmove
    else copyBytes(src, from, u8, this.start + this.length, take);
    this.length += take;
    if (this.mode !== BODY_LENGTH) return BODY_MORE;
    this.remaining -= take;
    return this.remaining === 0 ? BODY_DONE : BODY_MORE;
  }
}
