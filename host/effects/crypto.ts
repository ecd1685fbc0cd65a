// Hashing effects over node:crypto: SHA-256 and HMAC-SHA256, for signed cookies and ETags
// (sdk/lib/arena/crypto.ts). They answer at once (plain imports, never a wait) and write
// the 32-byte digest into a buffer the app passes, after checking every (ptr, len) against
// the calling request's arena and the startup region like the other effects. The bytes
// hashed may also lie in the heap region (a page or key kept with Heap.keep): the call is
// synchronous, so no other request can change them meanwhile.

import crypto from "node:crypto";
import { EFFECT_BAD_ARGUMENT, EFFECT_OK } from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import type { AppMemory } from "../memory/app_memory.ts";

/** Bytes of a SHA-256 digest, and so of every result these effects write. */
export const SHA256_BYTES = 32;

export class CryptoEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;

  constructor(memory: AppMemory, caller: Caller) {
    this.memory = memory;
    this.caller = caller;
  }

  /** Whether the caller may read or write [ptr, ptr + len). */
  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  /** Whether the caller may have [ptr, ptr + len) hashed: what it may write, or anything
   *  below the slots (static data, the startup region, the heap region). */
  private readable(ptr: number, len: number): boolean {
    ptr >>>= 0;
    len >>>= 0;
    return this.valid(ptr, len) || ptr + len <= this.memory.plan.slotsBase;
  }

  /** [ptr, ptr + len) of the app's memory, as a view (no copy). */
  private bytes(ptr: number, len: number): Uint8Array {
    return this.memory.u8.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  imports(): Record<string, unknown> {
    return {
      // sha256(ptr, len, outPtr) -> status: the digest of [ptr, ptr + len) into outPtr (32 bytes).
      sha256: (ptr: number, len: number, outPtr: number): number => {
        if (!this.readable(ptr, len) || !this.valid(outPtr, SHA256_BYTES)) return EFFECT_BAD_ARGUMENT;
        const digest = crypto.createHash("sha256").update(this.bytes(ptr, len)).digest();
        this.memory.u8.set(digest, outPtr >>> 0);
        return EFFECT_OK;
      },
      // hmac_sha256(keyPtr, keyLen, ptr, len, outPtr) -> status: HMAC-SHA256 of [ptr, ptr + len)
      // under the key [keyPtr, keyPtr + keyLen), into outPtr (32 bytes).
      hmac_sha256: (keyPtr: number, keyLen: number, ptr: number, len: number, outPtr: number): number => {
        if (!this.readable(keyPtr, keyLen) || !this.readable(ptr, len) || !this.valid(outPtr, SHA256_BYTES)) return EFFECT_BAD_ARGUMENT;
        const mac = crypto.createHmac("sha256", this.bytes(keyPtr, keyLen)).update(this.bytes(ptr, len)).digest();
        this.memory.u8.set(mac, outPtr >>> 0);
        return EFFECT_OK;
      },
    };
  }
}
