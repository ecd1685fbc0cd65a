// From the URL an app passes to fetch to the connection pool of its origin, with a memo per
// slot: a fetch to the same origin as the slot's last one compares the scheme://authority
// bytes and checks only the path, so it makes no string, looks nothing up in a map and
// allocates nothing (the hot path of an app that calls one upstream).

import { EFFECT_BAD_URL, EFFECT_UNAVAILABLE } from "../../abi/constants.ts";
import { URI_BYTES_MAX } from "../../limits.ts";
import type { OriginPool, UpstreamPools } from "./pool.ts";
import { parseUpstreamUrl, UpstreamUrl } from "./upstream_url.ts";

/** One slot's URL → pool lookup; reused for every fetch of the slot. */
export class OriginLookup {
  /** The last URL parsed in full, with the target of the one looked up last. */
  readonly url = new UpstreamUrl();
  /** Why lookup() found no pool: EFFECT_BAD_URL or EFFECT_UNAVAILABLE (url.error says more). */
  noPoolStatus = EFFECT_BAD_URL;
  private readonly pools: UpstreamPools;
  /** The last URL's scheme://authority bytes and the pool they resolved to. */
  private readonly lastPrefix = new Uint8Array(256);
  private lastPrefixLen = 0;
  private lastPool: OriginPool | null = null;

  constructor(pools: UpstreamPools) {
    this.pools = pools;
  }

  /**
   * The pool for the URL at u8[ptr, ptr + len), with `url.targetStart/End` set; null with
   * `url.error` and `noPoolStatus` when the URL is unusable or no pool can be made for its
   * origin.
   */
  lookup(u8: Uint8Array, ptr: number, len: number): OriginPool | null {
    if (this.sameOrigin(u8, ptr, len)) return this.lastPool;
    const url = this.url;
    if (!parseUpstreamUrl(u8, ptr, len, url)) {
      this.noPoolStatus = EFFECT_BAD_URL;
      return null;
    }
    const pool = this.pools.pool(url.host, url.port, url.authority, url.tls);
    if (pool === null) {
      this.noPoolStatus = EFFECT_UNAVAILABLE;
      url.error = `the HTTP client keeps pools for FETCH_ORIGINS_MAX (${this.pools.originsMax}) upstream origins and each has a fetch in flight, so none can make room for ${url.origin}`;
      return null;
    }
    const prefix = url.targetStart - ptr;
    const last = this.lastPrefix;
    if (prefix <= last.length) {
      for (let i = 0; i < prefix; i++) last[i] = u8[ptr + i];
      this.lastPrefixLen = prefix;
      this.lastPool = pool;
    } else {
      this.lastPrefixLen = 0;
      this.lastPool = null;
    }
    return pool;
  }

  /** Whether the URL starts with the last one's scheme://authority and the rest is a
   *  valid target; if so, sets url.targetStart/End and stamps the last pool as used. */
  private sameOrigin(u8: Uint8Array, ptr: number, len: number): boolean {
    const n = this.lastPrefixLen;
    const last = this.lastPrefix;
    const pool = this.lastPool;
    if (n === 0 || len < n || pool === null || pool.dropped) return false;
    for (let i = 0; i < n; i++) if (u8[ptr + i] !== last[i]) return false;
    const next = len === n ? 0x2f : u8[ptr + n];
    if (next !== 0x2f && next !== 0x3f && next !== 0x23) return false;
    if (len > URI_BYTES_MAX) return false;
    let targetEnd = ptr + len;
    for (let i = ptr + n; i < ptr + len; i++) {
      const c = u8[i];
      if (c <= 0x20 || c >= 0x7f) return false;
      if (c === 0x23 && targetEnd === ptr + len) targetEnd = i;
    }
    this.url.targetStart = ptr + n;
    this.url.targetEnd = targetEnd;
    this.pools.touch(pool);
    return true;
  }
}
