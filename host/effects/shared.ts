// The shared-region effects: the `arena.shared_*` imports, through which an app reaches the
// counters and the key-value store every worker of the server shares
// (host/memory/shared_region.ts). They answer at once (plain imports, never a wait), in
// start-up code as in a request, and copy: a key or a value goes from the caller's memory
// into the region, a value comes back into a buffer the caller passes, with the "ask again
// with room" pattern of `arena.env`. Every (ptr, len) is checked against the calling
// request's arena and the startup region like the other effects; a bad one is the status
// SHARED_BAD_ARGUMENT, and full or too large are statuses too: nothing here traps.
//
// Without a region (null) the imports still exist, over an empty one: every counter and
// set answers Full and every get Absent, so an app built for workers runs without them.

import {
  SHARED_ABSENT as ABI_ABSENT, SHARED_BAD_ARGUMENT, SHARED_FULL as ABI_FULL, SHARED_OK as ABI_OK, SHARED_TOO_LARGE as ABI_TOO_LARGE,
} from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import { assert } from "../assert.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import { SHARED_ABSENT, SHARED_FULL, SHARED_OK, SHARED_TOO_LARGE, SharedRegion } from "../memory/shared_region.ts";

// The region answers the ABI's numbers, so nothing is mapped on the way out.
assert(SHARED_OK === ABI_OK && SHARED_FULL === ABI_FULL && SHARED_TOO_LARGE === ABI_TOO_LARGE && SHARED_ABSENT === ABI_ABSENT,
  "the shared region's statuses are the ABI's SHARED_* statuses");

/** Bytes of a counter's value the imports write (an i64, little-endian). */
const I64_BYTES = 8;

export class SharedEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  readonly region: SharedRegion;

  constructor(memory: AppMemory, caller: Caller, region: SharedRegion | null) {
    this.memory = memory;
    this.caller = caller;
    this.region = region ?? SharedRegion.create({ bytes: 0 });
  }

  /** Whether the caller may read or write [ptr, ptr + len). */
  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  /** Writes counter result `value` at `outPtr` (checked by the caller). */
  private put(outPtr: number, value: bigint): number {
    this.memory.dv.setBigInt64(outPtr >>> 0, value, true);
    return ABI_OK;
  }

  imports(): Record<string, unknown> {
    const region = this.region;
    const store = region.store;
    return {
      // shared_counter(namePtr, nameLen) -> index >= 0 of the counter so named (made on first
      // use), or -SHARED_FULL, -SHARED_TOO_LARGE (a name over 48 bytes), -SHARED_BAD_ARGUMENT.
      shared_counter: (namePtr: number, nameLen: number): number => {
        if (!this.valid(namePtr, nameLen)) return -SHARED_BAD_ARGUMENT;
        return region.counter(this.memory.u8, namePtr >>> 0, nameLen >>> 0);
      },
      // shared_add(index, delta: i64, outPtr) -> status; the new value (i64) at outPtr.
      shared_add: (index: number, delta: bigint, outPtr: number): number => {
        if (!region.validCounter(index) || !this.valid(outPtr, I64_BYTES)) return SHARED_BAD_ARGUMENT;
        return this.put(outPtr, region.add(index, delta));
      },
      // shared_load(index, outPtr) -> status; the value (i64) at outPtr.
      shared_load: (index: number, outPtr: number): number => {
        if (!region.validCounter(index) || !this.valid(outPtr, I64_BYTES)) return SHARED_BAD_ARGUMENT;
        return this.put(outPtr, region.load(index));
      },
      // shared_exchange(index, value: i64, outPtr) -> status; the value it had (i64) at outPtr.
      shared_exchange: (index: number, value: bigint, outPtr: number): number => {
        if (!region.validCounter(index) || !this.valid(outPtr, I64_BYTES)) return SHARED_BAD_ARGUMENT;
        return this.put(outPtr, region.exchange(index, value));
      },
      // shared_set(keyPtr, keyLen, valuePtr, valueLen) -> SHARED_OK, SHARED_FULL,
      // SHARED_TOO_LARGE or SHARED_BAD_ARGUMENT. Nothing changes unless it is SHARED_OK.
      shared_set: (keyPtr: number, keyLen: number, valuePtr: number, valueLen: number): number => {
        if (!this.valid(keyPtr, keyLen) || !this.valid(valuePtr, valueLen)) return SHARED_BAD_ARGUMENT;
        const u8 = this.memory.u8;
        return store.set(u8, keyPtr >>> 0, keyLen >>> 0, u8, valuePtr >>> 0, valueLen >>> 0);
      },
      // shared_get(keyPtr, keyLen, outPtr, outCap) -> the value's length, written at outPtr
      // when it fits outCap (else nothing is written: the SDK asks again with room), or
      // -SHARED_ABSENT, -SHARED_BAD_ARGUMENT.
      shared_get: (keyPtr: number, keyLen: number, outPtr: number, outCap: number): number => {
        if (!this.valid(keyPtr, keyLen) || !this.valid(outPtr, outCap)) return -SHARED_BAD_ARGUMENT;
        const u8 = this.memory.u8;
        return store.get(u8, keyPtr >>> 0, keyLen >>> 0, u8, outPtr >>> 0, outCap >>> 0);
      },
      // shared_delete(keyPtr, keyLen) -> SHARED_OK, SHARED_ABSENT or SHARED_BAD_ARGUMENT.
      shared_delete: (keyPtr: number, keyLen: number): number => {
        if (!this.valid(keyPtr, keyLen)) return SHARED_BAD_ARGUMENT;
        return store.delete(this.memory.u8, keyPtr >>> 0, keyLen >>> 0);
      },
    };
  }
}
