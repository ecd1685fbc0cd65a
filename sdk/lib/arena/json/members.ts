// Finding an object's member by name over the index (index.ts): one pass over the members,
// their values skipped through the index, not read. JsonValue.get uses findKey; the
// multi-field lookup (JsonKeys in fields.ts) has its own pass with keys encoded once.

import { JsonIndex } from "./index";
import { stringEquals } from "./strings";
import { memberKeyOk, memberKeyPlain, memberValueFramed, memberValuePlain, rootCloseOk } from "./nav";

/**
 * The index entry of the opening quote of the *last* key of the object opened at entry `j`
 * that decodes to `key`, or -1. The last wins, as in JavaScript's JSON.parse, so two readers
 * of the same bytes agree; so the pass always reaches the object's end, and on demand it
 * checks the members' frame on the way (a name, its colon, a comma or the close after each
 * value): -1 and the error recorded when it is not well formed. Most names are rejected by
 * length and first byte without a call. `let e = findKey(doc, obj.j, "id")`
 */
export function findKey(ix: JsonIndex, j: u32, key: string): i32 {
  let units = key.length;
  let first: u32 = units > 0 ? <u32>key.charCodeAt(0) : 0;
  let input = ix.input;
  let found = -1;
  let e = j + 1;
  let checked = ix.checked;
  while (ix.ch(e) == 0x22) {
    // On demand every key walked is checked (its frame, its escapes), the matching ones too.
    if (!checked && !memberKeyPlain(ix, e) && !memberKeyOk(ix, e)) return -1;
    let a = ix.at(e) + 1;
    let len = <i32>(ix.at(e + 1) - a);
    // A name's raw bytes are never fewer than the UTF-16 units it decodes to, and an ASCII
    // first byte that is not a backslash is the first unit.
    if (len >= units) {
      let maybe = units == 0 ? len == 0 : true;
      if (units > 0) {
        let b0 = <u32>load<u8>(input + <usize>a);
        maybe = b0 == first || b0 >= 0x80 || b0 == 0x5c;
      }
      if (maybe && stringEquals(input + <usize>a, len, ix.hasBackslash(a, a + <u32>len), key)) found = <i32>e;
    }
    if (ix.ch(e + 2) != 0x3a) return -1; // only in a checked document's impossible case
    let k = e;
    e = ix.skipValue(e + 3);
    if (!checked && !memberValuePlain(ix, k, e) && !memberValueFramed(ix, k, e)) return -1;
    if (ix.ch(e) != 0x2c) break;
    e++;
    // After a comma only a name may come (a close there is a trailing comma).
    if (ix.ch(e) != 0x22) {
      if (!checked) memberKeyOk(ix, e);
      return -1;
    }
  }
  // The pass reached the object's end: remember where it is (index.ts aux), so moving past
  // the object afterwards is O(1). Anything else there is an error in the members' frame.
  if (ix.ch(e) == 0x7d) {
    ix.setAux(j, e + 1);
    if (j == 0 && !checked) rootCloseOk(ix, e);
  } else if (!checked) {
    ix.fail("expected ',' or '}' after an object member", e < ix.entries ? ix.at(e) : ix.inputLength);
    return -1;
  }
  return found;
}
