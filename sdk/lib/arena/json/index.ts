// The structural index a JSON document is read from (simdjson's "stage 1" output, built by
// stage1.ts): the byte offsets of every bracket, brace, comma and colon outside strings and
// of both quotes of every string, in order, then one sentinel entry at the input's length.
// Scalars (numbers, true, false, null) have no entry: one starts after a structural and ends
// before the next, so a string is two entries and a scalar none.
//
// Beside it: `aux`, one u32 per entry, zero until known: for an opening bracket the entry
// of its matching close + 1 (so skipping a container twice costs one scan), for a closing
// bracket its element or member count + 1 (so `length` is counted once). The strict
// validator (validate.ts) fills both for the whole document; Json.read fills them lazily as
// the app walks. And `esc`, a bit per 64-byte block that holds a backslash, so whether a
// string holds escapes is a bit test for most strings instead of a scan (1/512 of the input).
//
// JsonIndex is JsonDoc's base (value.ts): the navigation code (nav.ts), the validator and
// the multi-field lookup (JsonKeys in fields.ts) reach it without importing the handles.

// Container levels below the one closeOf is asked for whose closes it remembers on the way
// (deeper ones are found again when asked), and its scratch stack of their openers: closeOf
// neither waits nor re-enters, so one static stack serves every document.
// @ts-ignore: decorator
@inline const CLOSE_STACK_DEPTH: u32 = 64;
const CLOSE_STACK: usize = memory.data(<i32>CLOSE_STACK_DEPTH << 2);

/**
 * The input, its structural index and the document's first error. Made by `Json.parse` and
 * `Json.read` (parser.ts) as a `JsonDoc`; apps use the `JsonDoc` API.
 * `let doc = Json.read(body); doc.ok`
 */
export class JsonIndex {
  /** Address of the input's first byte. */
  @unsafe readonly input: usize;
  /** Input length in bytes (less when the index was cut short: see stage1Truncated). */
  @unsafe inputLength: u32;
  /** The index: u32 byte offsets, `entries` of them plus the sentinel (the input length). */
  @unsafe idx: usize = 0;
  /** Entries in the index, the sentinel not counted. */
  @unsafe entries: u32 = 0;
  /** One u32 per entry (see the file comment); 0 = not known yet. */
  @unsafe aux: usize = 0;
  /** One bit per 64-byte block of the input: set when the block holds a backslash. */
  @unsafe esc: usize = 0;
  /** True once the whole document is known valid (Json.parse, or a passing validate()):
   *  landing on a value then skips the on-demand checks. */
  @unsafe checked: bool = false;
  /** True when nothing can be read (the input failed stage 1, or a strict parse failed). */
  @unsafe dead: bool = false;
  /** Stage 1's first error ("" when none), kept apart so the strict check can order it
   *  with its own (see strictCheck in validate.ts). */
  @unsafe stage1Err: string = "";
  /** Its byte offset, or -1. */
  @unsafe stage1Pos: i32 = -1;
  /** True when the index outgrew the arena (see stage1Truncated in stage1.ts). */
  @unsafe truncated: bool = false;
  /** The first error recorded, or "". */
  @unsafe err: string = "";
  /** Its byte offset, or -1. */
  @unsafe errPos: i32 = -1;

  // @ts-ignore: decorator
  @unsafe constructor(input: usize, inputLength: u32) {
    this.input = input;
    this.inputLength = inputLength;
  }

  /** Records `msg` at byte `pos` unless an error is recorded already (the first one
   *  stands). Returns false, so a failing check can `return ix.fail(…)`. */
  fail(msg: string, pos: u32): bool {
    if (this.errPos < 0) {
      // A document made before a Scratch was entered keeps its message where it lives:
      // one made in the scratch would dangle once the scratch is disposed.
      let owner = __arena_scope_owner(changetype<usize>(this));
      if (owner != __arena_current()) {
        let copy = __arena_copy(changetype<usize>(msg), owner);
        if (copy != 0) msg = changetype<string>(copy);
      }
      this.err = msg;
      this.errPos = <i32>pos;
    }
    return false;
  }

  /** Byte offset of entry `j` (the input length for the sentinel). */
  // @ts-ignore: decorator
  @inline at(j: u32): u32 {
    return load<u32>(this.idx + (<usize>j << 2));
  }

  /** The byte at entry `j`, or 0 past the last entry (the input is not padded: the
   *  sentinel's offset is one past its end). */
  // @ts-ignore: decorator
  @inline ch(j: u32): u32 {
    return j < this.entries ? <u32>load<u8>(this.input + <usize>this.at(j)) : 0;
  }

  // @ts-ignore: decorator
  @inline auxAt(j: u32): u32 {
    return load<u32>(this.aux + (<usize>j << 2));
  }

  // @ts-ignore: decorator
  @inline setAux(j: u32, v: u32): void {
    store<u32>(this.aux + (<usize>j << 2), v);
  }

  /** The first offset at or after `i` that is not JSON whitespace. */
  skipWs(i: u32): u32 {
    let p = this.input;
    let len = this.inputLength;
    while (i < len) {
      let c = load<u8>(p + <usize>i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      i++;
    }
    return i;
  }

  /** Whether bytes [a, b) of the input hold a backslash (inside a string: an escape).
   *  Blocks without one are known from their bit (most strings lie in one block: one bit
   *  test); only the others are looked at. */
  // @ts-ignore: decorator
  @inline hasBackslash(a: u32, b: u32): bool {
    if (a >= b) return false;
    let first = a >> 6;
    let last = (b - 1) >> 6;
    if (first == last) {
      if (((load<u64>(this.esc + (<usize>(first >> 6) << 3)) >> <u64>(first & 63)) & 1) == 0) return false;
    }
    return this.scanBackslash(first, last, a, b);
  }

  private scanBackslash(first: u32, last: u32, a: u32, b: u32): bool {
    let any = false;
    for (let blk = first; blk <= last; blk++) {
      if ((load<u64>(this.esc + (<usize>(blk >> 6) << 3)) >> <u64>(blk & 63)) & 1) {
        any = true;
        break;
      }
    }
    if (!any) return false;
    let p = this.input;
    for (let i = a; i < b; i++) {
      if (load<u8>(p + <usize>i) == 0x5c) return true;
    }
    return false;
  }

  /**
   * The entry of the bracket that closes the container opened at entry `j`, or `entries`
   * when the input ends first. Found by depth over the index, jumping over containers whose
   * close is known, and remembered in aux — for `j` and for every container the scan passes
   * through (up to CLOSE_STACK_DEPTH levels down): walking a document and skipping what was
   * walked stays linear however deep or wide it is, and the first skip of a large container
   * makes every later skip inside it O(1).
   */
  closeOf(j: u32): u32 {
    let m = this.auxAt(j);
    if (m != 0) return m - 1;
    let n = this.entries;
    let idx = this.idx;
    let input = this.input;
    let aux = this.aux;
    let depth: u32 = 1;
    let e = j + 1;
    while (e < n) {
      let c = <u32>load<u8>(input + <usize>load<u32>(idx + (<usize>e << 2)));
      if (c == 0x22) {
        e += 2;
        continue;
      }
      if (c == 0x5b || c == 0x7b) {
        let known = load<u32>(aux + (<usize>e << 2));
        if (known != 0) {
          e = known;
          continue;
        }
        if (depth < CLOSE_STACK_DEPTH) store<u32>(CLOSE_STACK + (<usize>depth << 2), e);
        depth++;
      } else if (c == 0x5d || c == 0x7d) {
        if (--depth == 0) break;
        if (depth < CLOSE_STACK_DEPTH) store<u32>(aux + (<usize>load<u32>(CLOSE_STACK + (<usize>depth << 2)) << 2), e + 1);
      }
      e++;
    }
    if (e > n) e = n;
    this.setAux(j, e + 1);
    return e;
  }

  /** The entry just past the value whose first entry is `e` (found by its byte: a string
   *  is two entries, a container runs to its close, a scalar has none). */
  // @ts-ignore: decorator
  @inline skipValue(e: u32): u32 {
    let c = this.ch(e);
    if (c == 0x22) return e + 2;
    if (c == 0x5b || c == 0x7b) return this.closeOf(e) + 1;
    return e;
  }
}

