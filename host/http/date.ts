// The Date response header (RFC 9110 §6.6.1), formatted once per second into a fixed
// 29-byte buffer that every response copies from; no string per request.

export const HTTP_DATE_BYTES = 29;

export class HttpDate {
  readonly bytes = new Uint8Array(HTTP_DATE_BYTES);
  private second = -1;

  constructor() {
    this.update(Date.now());
  }

  /** Refreshes the bytes when the wall-clock second has changed. */
  update(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.second) return;
    this.second = second;
    const text = new Date(second * 1000).toUTCString(); // "Sat, 21 Nov 2026 05:16:00 GMT"
    for (let i = 0; i < HTTP_DATE_BYTES; i++) this.bytes[i] = text.charCodeAt(i);
  }
}
