// The benchmark's data and its reference renderer. The harness renders the expected bodies
// here, independently of the peers' code (character by character, into UTF-8 bytes), and
// refuses to measure a server whose body or Content-Type differs.

import fs from "node:fs";
import path from "node:path";

export const HELLO_BODY = Buffer.from("Hello from Arena!\n", "utf8");
export const HELLO_TYPE = "text/plain; charset=utf-8";
export const HTML_TYPE = "text/html; charset=utf-8";

interface SourceProduct {
  id: number;
  title: string;
  brand: string;
  category: string;
  price: number;
  tags: string[];
  reviews?: unknown;
  [key: string]: unknown;
}

/** The W2/W2b document: the catalogue's 200 products without their reviews, compact
 *  JSON (JSON.stringify, so non-ASCII stays as UTF-8 and only " \ and controls are escaped). */
export function benchDocument(root: string): Buffer {
  const source = JSON.parse(fs.readFileSync(path.join(root, "examples/catalog/data/products.json"), "utf8")) as SourceProduct[];
  const products = source.map((p) => {
    const copy: Record<string, unknown> = { ...p };
    delete copy.reviews;
    return copy;
  });
  return Buffer.from(JSON.stringify(products), "utf8");
}

function escapeInto(out: string[], s: string): void {
  for (const ch of s) {
    if (ch === "&") out.push("&amp;");
    else if (ch === "<") out.push("&lt;");
    else if (ch === ">") out.push("&gt;");
    else if (ch === "\"") out.push("&quot;");
    else if (ch === "'") out.push("&#39;");
    else out.push(ch);
  }
}

/** The expected W2/W2b body for `doc`, as UTF-8 bytes. */
export function referenceTable(doc: Buffer): Buffer {
  const products = JSON.parse(doc.toString("utf8")) as SourceProduct[];
  const out: string[] = ["<!doctype html><table>"];
  for (const p of products) {
    out.push("<tr><td>", String(p.id), "</td><td>");
    escapeInto(out, p.title);
    out.push("</td><td>");
    escapeInto(out, p.brand);
    out.push("</td><td>");
    escapeInto(out, p.category);
    const cents = Math.round(p.price * 100);
    out.push("</td><td>$", String(Math.floor(cents / 100)), ".", String(cents % 100).padStart(2, "0"), "</td><td>");
    p.tags.forEach((t, i) => {
      if (i > 0) out.push(", ");
      escapeInto(out, t);
    });
    out.push("</td></tr>");
  }
  out.push("</table>");
  return Buffer.from(out.join(""), "utf8");
}

/** The first byte offset where `a` and `b` differ, or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
