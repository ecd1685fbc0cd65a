// Invariants the host relies on, checked where they cross a boundary (slot state, pointer
// bounds, state-machine transitions, re-entrant calls into the app). A failed assertion is
// a bug in Arena, not bad input: it throws at once with what was expected, instead of
// letting the server go on in a state nobody designed (TigerBeetle and undici do the same).

/** Throws `assert: <why>` unless `cond` holds. `why` names the invariant, not the symptom. */
export function assert(cond: unknown, why: string): asserts cond {
  if (!cond) throw new Error(`assert: ${why}`);
}
