// The W3/W3b document: a second shape, so the benchmark is not tuned to the product list.
// A top-level object whose `orders` array (not the first member) holds objects nested three
// deep (customer → address), arrays of small objects (items) and of many short strings
// (tags), and numbers written every way JSON allows: integers (some beyond 32 bits),
// negatives, "-0", decimals with and without trailing zeros, and exponents (e, E, e+, e-).
// It is generated from a fixed seed, so every run and every server sees the same bytes.
//
// Every money amount (item price, shipping, discount) is a whole number of cents however
// it is written, and every amount is far below 2^53 cents: that is the rule that lets
// JavaScript (Math.round(x × 100)), AssemblyScript (the same on the same double) and the
// reference (exact decimal arithmetic on the source text) agree on every figure.

// The repository's one seeded PRNG (mulberry32), the tests' too; the seed is arbitrary but fixed.
import { rng as prng } from "../tests/rng.ts";

/** A number written exactly as `text` in the document. */
class Num {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Value = Num | string | Value[] | { [key: string]: Value };


/**
 * `cents` / 100 written in one of several forms (`form` picks which), all exact:
 * 0 "12.34", 1 "12.340"-style trailing zero, 2 mantissa with an exponent ("1.234e1"),
 * 3 integer mantissa with a negative exponent ("1234e-2"), 4 upper-case E with a plus
 * sign ("0.1234E+2"). Whole amounts lose the fraction in form 0 ("12").
 */
export function decimalText(cents: number, form: number): string {
  const sign = cents < 0 ? "-" : "";
  const digits = String(Math.abs(cents));
  const padded = digits.padStart(3, "0");
  const int = padded.slice(0, -2);
  const frac = padded.slice(-2);
  switch (form % 5) {
    case 0: {
      const f = frac.replace(/0+$/, "");
      return sign + int + (f === "" ? "" : "." + f);
    }
    case 1:
      return sign + int + "." + frac + "0";
    case 2: {
      if (digits.length === 1) return sign + digits + "e-2";
      return sign + digits[0] + "." + digits.slice(1) + "e" + (digits.length - 3);
    }
    case 3:
      return sign + digits + "e-2";
    default: {
      const e = digits.length - 2;
      return sign + "0." + digits + (e >= 0 ? "E+" : "E") + e;
    }
  }
}

/** Amounts that trip naive formatting, placed in the first orders (see docs/performance.md). */
export const TRICKY_AMOUNTS = [
  "0.07", "0.29", "4.35", "1.15", "1e-2", "1.5e1", "1.999E3", "1.20E+1", "12.0", "-0", "-0.05", "0",
  "-1.5e1", "2.5E-1", "100", "0.1e1", "-7.5e-1", "99999.99", "1.005e2", "-0.0e0",
];

const FIRST = ["Zoë", "José", "Bjørn", "Ægir", "Ольга", "李雷", "Amélie", "Seán", "Anaïs", "Łukasz", "Priya", "Tom", "Kai", "Ngozi", "Émile", "Ana"];
const LAST = ["O'Neil", "Smith & Sons", "Müller", "García", "<b>Bold</b>", "Nakamura", "Kowalski", "Dubois", "\"Quoted\"", "Ivanova", "Øberg", "Lee"];
const PLACES: [string, string][] = [
  ["São Paulo", "BR"], ["Zürich", "CH"], ["Kraków", "PL"], ["Москва", "RU"], ["東京", "JP"], ["Lagos", "NG"],
  ["Reykjavík", "IS"], ["Montréal", "CA"], ["A Coruña", "ES"], ["Köln", "DE"], ["Tromsø", "NO"], ["Saint-Étienne", "FR"],
];
const TAGS = ["gift", "vip", "b2b", "eu", "rush", "fragile", "a&b", "<3", "x'y", "new", "sale", "é", "日本", "1/2", "q\"t",
  "back\\slash", "bulk", "promo", "tax", "ok", "cold", "hot", "late", "🎁", "ß", "re", "net30", "cod"];
const STATUS = ["placed", "paid", "shipped", "delivered", "returned"];

function order(i: number, rand: () => number): Record<string, Value> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const tricky = (k: number) => TRICKY_AMOUNTS[(i * 3 + k) % TRICKY_AMOUNTS.length];
  const early = i < Math.ceil(TRICKY_AMOUNTS.length / 3);
  const items: Value[] = [];
  const nItems = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < nItems; k++) {
    const cents = 99 + Math.floor(rand() * 25_000);
    const qty = rand() < 0.08 ? -1 : 1 + Math.floor(rand() * 9);
    items.push({
      sku: `${String.fromCharCode(65 + Math.floor(rand() * 26))}${String.fromCharCode(65 + Math.floor(rand() * 26))}-${1000 + Math.floor(rand() * 9000)}`,
      qty: new Num(String(qty)),
      price: new Num(early && k === 0 ? tricky(0) : decimalText(cents, Math.floor(rand() * 5))),
    });
  }
  const tags: Value[] = [];
  const nTags = 6 + Math.floor(rand() * 10);
  for (let k = 0; k < nTags; k++) tags.push(pick(TAGS));
  const [city, country] = pick(PLACES);
  const id = i % 10 === 9 ? 4294967296 + i * 7919 : 100_000 + i;
  return {
    id: new Num(String(id)),
    placed: `2026-0${1 + (i % 9)}-${String(1 + (i % 28)).padStart(2, "0")}T${String(i % 24).padStart(2, "0")}:15:00Z`,
    status: pick(STATUS),
    customer: {
      name: `${pick(FIRST)} ${pick(LAST)}`,
      email: `c${i}@example.com`,
      address: { street: `${1 + Math.floor(rand() * 200)} Rue de l'Été`, city, country, zip: String(10000 + Math.floor(rand() * 89999)) },
    },
    items,
    shipping: new Num(early ? tricky(1) : decimalText(Math.floor(rand() * 2000), Math.floor(rand() * 5))),
    adjustment: new Num(early ? tricky(2) : rand() < 0.3 ? decimalText(-Math.floor(rand() * 1500), Math.floor(rand() * 5)) : "0"),
    dims: [new Num(decimalText(Math.floor(rand() * 9000), 2)), new Num(String(Math.floor(rand() * 40))), new Num("-3.5e-1")],
    tags,
    note: i % 4 === 0 ? "Leave at the door\n\t— merci" : "",
  };
}

// JSON.stringify writes non-ASCII as UTF-8; a few characters are written as \u escapes
// instead (one a surrogate pair) and one slash as "\/", so readers must decode escapes.
function stringJson(s: string): string {
  return JSON.stringify(s).replaceAll("é", "\\u00e9").replaceAll("🎁", "\\ud83c\\udf81").replaceAll("1/2", "1\\/2");
}

function toJson(v: Value): string {
  if (v instanceof Num) return v.text;
  if (typeof v === "string") return stringJson(v);
  if (Array.isArray(v)) return "[" + v.map(toJson).join(",") + "]";
  return "{" + Object.entries(v).map(([k, x]) => stringJson(k) + ":" + toJson(x)).join(",") + "}";
}

/** The number of orders: enough for a document of about the first one's size (~50 KB). */
export const ORDER_COUNT = 100;

/** The W3/W3b document as UTF-8 bytes (compact JSON, deterministic). */
export function ordersDocument(): Buffer {
  const rand = prng(20261130);
  const orders: Value[] = [];
  for (let i = 0; i < ORDER_COUNT; i++) orders.push(order(i, rand));
  const doc = { currency: "USD", generated: "2026-11-30", orders, count: new Num(String(ORDER_COUNT)) };
  return Buffer.from(toJson(doc), "utf8");
}
