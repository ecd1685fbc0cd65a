// The hello example: a text route, a route with a path parameter, and an echo of a
// posted body. Build and serve it with `npm start`, or:
//   npm run arena -- build examples/hello/app.ts
//   npm run arena -- serve examples/hello/app.wasm
import { Router, Request, Response, ByteWriter, serve } from "arena";

function home(req: Request): Response {
  return Response.text("Hello from Arena!\n");
}

function greet(req: Request): Response {
  const w = new ByteWriter(64);
  w.str("Hello, ").str(req.param("name")!).str("!\n");
  return Response.from(w, "text/plain; charset=utf-8");
}

function echo(req: Request): Response {
  const type = req.header("content-type");
  return Response.bytes(req.body, type !== null ? type : "application/octet-stream");
}

const app = new Router();
app.get("/", home);
app.get("/hello/:name", greet);
app.post("/echo", echo);
serve(app);
