// Bun.serve peer (run by Bun, not Node): the same three routes through Bun's `routes`, W2
// with Bun's own fetch (keep-alive pooled) and `Response.json()`.
import fs from "node:fs";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderTable, type Product } from "./render.ts";

// Bun's globals, declared here so that tsc (which has Node's types only) accepts the file.
declare const Bun: {
  serve(options: { port: number; hostname: string; routes: Record<string, (req: Request) => Response | Promise<Response>> }): { port: number };
};

const docText = fs.readFileSync(process.env.BENCH_DATA ?? "", "utf8");
const port = Number(process.env.PORT ?? 3100);
const upstream = (process.env.BENCH_UPSTREAM_URL ?? "http://127.0.0.1:3190") + "/products";
const textHeaders = { "content-type": TEXT_TYPE };
const htmlHeaders = { "content-type": HTML_TYPE };

Bun.serve({
  port,
  hostname: "127.0.0.1",
  routes: {
    "/": () => new Response(HELLO, { headers: textHeaders }),
    "/w2": async () => {
      const res = await fetch(upstream);
      if (res.status !== 200) return new Response(`upstream answered ${res.status}\n`, { status: 502 });
      return new Response(renderTable(await res.json() as Product[]), { headers: htmlHeaders });
    },
    "/w2b": () => new Response(renderTable(JSON.parse(docText) as Product[]), { headers: htmlHeaders }),
  },
});
process.stdout.write(`listening ${port}\n`);
