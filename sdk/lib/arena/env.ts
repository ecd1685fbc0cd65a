// Configuration from the server's environment.

import { utf8 } from "./text/utf8";

// @ts-ignore: decorator
@external("arena", "env")
declare function hostEnv(namePtr: usize, nameLen: usize, outPtr: usize, outCap: usize): i32;

/**
 * The environment variable `name` of the server process, or null when it is unset. Works
 * in start-up code (read configuration once, at the top level) and in handlers. The value
 * is decoded as UTF-8 (ill-formed bytes become U+FFFD, see `utf8`).
 *
 * ```ts
 * const upstream = env("UPSTREAM_URL");
 * const base = upstream !== null ? upstream : "http://127.0.0.1:4000";
 * ```
 */
export function env(name: string): string | null {
  let key = String.UTF8.encode(name);
  let cap: i32 = 256;
  let out = new ArrayBuffer(cap);
  let len = hostEnv(changetype<usize>(key), <usize>key.byteLength, changetype<usize>(out), <usize>cap);
  if (len < 0) return null;
  if (len > cap) {
    out = new ArrayBuffer(len);
    len = hostEnv(changetype<usize>(key), <usize>key.byteLength, changetype<usize>(out), <usize>len);
    if (len < 0) return null;
  }
  return utf8(changetype<usize>(out), <usize>len);
}

/** The environment variable `name`, or `fallback` when it is unset or empty.
 *  `const upstream = envOr("UPSTREAM_URL", "http://127.0.0.1:4000");` */
export function envOr(name: string, fallback: string): string {
  let v = env(name);
  return v !== null && v.length > 0 ? v : fallback;
}
