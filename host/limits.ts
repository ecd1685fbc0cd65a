// Every limit of the platform, in one place. Each constant says why it has its value;
// qualifiers come last (ARENA_BYTES_DEFAULT, HEADER_BYTES_MAX). Values derived from them
// are computed in memory/plan.ts / config.ts, never typed in twice; the relations between
// them are asserted at the end of this file, when it loads.

import { assert } from "./assert.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** A wasm page; memory sizes are whole pages because that is what wasm allocates. */
export const WASM_PAGE_BYTES = 64 * KiB;

/** wasm32 addresses 4 GiB at most; a layout past this cannot be created. */
export const WASM_MEMORY_BYTES_MAX = 4 * 1024 * MiB;

/** In-flight requests: one slot each. 256 keeps a busy single core fed while waits on
 *  upstreams overlap, and 256 × 1 MiB is a budget most servers can hold without thought. */
export const SLOTS_DEFAULT = 256;

/** Arena per request. 1 MiB holds a typical request, its parsed data and a rendered page
 *  with room to spare; a request that needs more gets 500 instead of hurting others. */
export const ARENA_BYTES_DEFAULT = 1 * MiB;

/** Smallest arena accepted: the region header, request descriptor and head must fit. */
export const ARENA_BYTES_MIN = 64 * KiB;

/** Startup region, static data included: routes, config and caches built at start. */
export const STARTUP_BYTES_DEFAULT = 4 * MiB;

/** Heap region: state an app keeps between requests (notes, sessions, caches), with
 *  individual frees. 16 MiB holds tens of thousands of small records; an app that keeps
 *  more raises it, and a full heap is a value the app sees (e.g. 507), never a trap. */
export const HEAP_BYTES_DEFAULT = 16 * MiB;

/** Requests waiting for a slot when all are busy. Bounded so overload cannot grow memory:
 *  past it the server answers 503 with Retry-After. Waiting requests hold only their
 *  connection's head buffer, never a slot. */
export const QUEUE_DEPTH_DEFAULT = 1024;

/** Seconds a client is told to wait after a 503 (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

/** Request line + header section. 16 KiB matches nginx's large_client_header_buffers and
 *  Node's default; each connection owns one buffer this size while a head is read. */
export const HEADER_BYTES_MAX = 16 * KiB;

/** Request target. Longer → 414, like nginx and Node; 8 KiB covers real-world URLs. */
export const URI_BYTES_MAX = 8 * KiB;

/** Header fields per request. Past this → 431; every field costs the app 16 bytes of
 *  descriptor and the parser a pass, and no honest client sends 100. */
export const HEADER_COUNT_MAX = 100;

/** Request body, before the arena's own bound (BODY_DECODE_FACTOR): what an arena of
 *  about 1.5 MiB can take and decode. Bounded so a body streaming into a slot keeps a
 *  minimum rate (BODY_TIMEOUT_MS) whatever the arena; past it → 413. */
export const BODY_BYTES_MAX_DEFAULT = 512 * KiB;

/** Arena bytes one body byte may need once the handler decodes it: the byte itself and up
 *  to two of UTF-16 text (AssemblyScript strings are UTF-16, so `req.text()` of an ASCII
 *  body, or `.str()` of a JSON string, is twice its bytes). The body limit is at most
 *  (arena − BODY_DECODE_RESERVE_BYTES) / this (bodyBytesDecodable in server.ts), so every
 *  body the server accepts can be decoded with req.text() in its arena, never a 500
 *  ARENA_E_MEMORY (a JSON parse's tape, 8 bytes per value, is not reserved). */
export const BODY_DECODE_FACTOR = 3;

/** Arena bytes kept out of the body's share: the largest request head with its header
 *  table and descriptor (about 18 KiB) and room for the handler's own objects beside the
 *  body and its text (the request, the router's captures, a response). */
export const BODY_DECODE_RESERVE_BYTES = 32 * KiB;

/** Chunk-size line (hex digits + extensions). Bounded so a chunk header cannot be used to
 *  stream unbounded bytes that are never stored. */
export const CHUNK_LINE_BYTES_MAX = 4 * KiB;

/** Chunk extensions in one chunked body, all its size lines together (with the whitespace
 *  a size line may carry after its digits). They are read and thrown away, so a bound per
 *  line is not enough: 1-byte chunks with 4 KiB extensions each streamed gigabytes at a
 *  CPU cost and never reached the body limit (issue 9). 16 KiB is Node's total since
 *  CVE-2024-22019; past it → 413. */
export const CHUNK_EXT_BYTES_MAX = 16 * KiB;

/** The rest of a chunked body's framing (size digits, leading zeros included, and CRLFs)
 *  may be as large as the body limit, and at least this. Tiny chunks cost 5 bytes of
 *  framing and a pass of the decoder per data byte; with this bound a chunked body costs
 *  at most about twice what the body limit does before its 413, while the floor lets a
 *  small body limit still take a body in many small chunks. */
export const CHUNK_FRAMING_BYTES_MIN = 4 * KiB;

/** Trailer section of a chunked body: read and discarded, bounded like the head. */
export const TRAILER_BYTES_MAX = 16 * KiB;

/** Time to receive a complete request head once its first byte arrived. Slowloris
 *  defence: a trickled head gets 408 and the connection is closed. */
export const HEADERS_TIMEOUT_MS = 10_000;

/** Time to receive a whole body once the head is complete. Past this → 408: a body that
 *  streams into a slot holds that slot, so even a client that keeps trickling must end.
 *  It is also a minimum rate: the largest default body (512 KiB) needs ~17 KiB/s. */
export const BODY_TIMEOUT_MS = 30_000;

/** Time between two reads of a body (nginx's client_body_timeout is the same idea, 60 s).
 *  A client that stops sending mid-body gets 408 this long after its last byte. */
export const BODY_IDLE_TIMEOUT_MS = 10_000;

/** Share of the slots that requests still streaming a large body into their slot may hold
 *  at once. A body that fits the connection's buffer (head + body ≤ HEADER_BYTES_MAX) is
 *  read before a slot is taken at all; only larger or chunked bodies stream into a slot,
 *  and this cap keeps the rest of the slots for requests that are ready to run, so clients
 *  that send a head and then no body can never starve the server. */
export const BODY_SLOTS_SHARE = 0.5;

/** Wall-clock time one request may take from the moment the app is called to its
 *  response. A handler that waits forever (a loop around sleep, an upstream that never
 *  ends) would otherwise hold its slot forever; past it the client gets 504
 *  ARENA_E_DEADLINE at once and the app's effects are cancelled. Above the default fetch
 *  timeout (10 s) so a slow upstream is reported by the app, not cut off by this. */
export const REQUEST_DEADLINE_MS_DEFAULT = 30_000;

/** Pipelined requests one connection may run back to back before the server lets other
 *  connections' events run (a flood of 100,000 pipelined requests in one write must
 *  neither grow the stack nor hold the event loop for seconds). Requests that complete
 *  synchronously cost ~5 µs, so a batch is well under a millisecond. */
export const PIPELINE_BATCH_MAX = 64;

/** Keep-alive connection with no request in progress. Past this it is closed quietly
 *  (no 408: a client may be sending a request at that very moment). Node uses 5 s. */
export const KEEPALIVE_TIMEOUT_MS = 5_000;

/** A response that makes no progress for this long (the client does not read) is given up:
 *  the connection is closed and its slot freed, so slow readers cannot hold slots. Like
 *  nginx's send_timeout, it measures progress, not the whole transfer. */
export const SEND_TIMEOUT_MS = 10_000;

/** Open client connections at most; past it a new connection gets 503 ARENA_E_CONNECTIONS
 *  and is closed. Each connection costs a socket, a file descriptor, CONNECTION_IDLE_BYTES
 *  and, only while it has bytes in progress, up to two connection buffers; 10,000 stays
 *  under common fd limits with room for upstream sockets. */
export const CONNECTIONS_MAX_DEFAULT = 10_000;

/** Process memory an idle connection costs (Node's socket and handle, the connection's
 *  state machine and parsed-head table): measured ~5 KiB of JS heap and ~8 KiB of RSS
 *  (tests/hostile_clients.test.ts checks the bound). The budget line counts it; buffers
 *  are lent only while bytes are in progress. */
export const CONNECTION_IDLE_BYTES = 10 * KiB;

/** Connection buffers (HEADER_BYTES_MAX each) kept for reuse once returned: enough for the
 *  heads in progress of a busy server, so steady load allocates none; past a burst of
 *  thousands of connections, the extra buffers are left to the garbage collector. */
export const CONNECTION_BUFFERS_KEPT_MAX = 1024;

/** Granularity of the timeout sweep. One timer for all connections instead of one per
 *  connection: no allocation per request. Deadlines are counted from the sweep's clock
 *  plus this, so they fire up to twice this late and never early. */
export const TIMER_SWEEP_MS = 250;

/** Graceful shutdown waits this long for in-flight requests, then closes what is left. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Bytes at the end of every slot where the host writes the response head: status line,
 *  the app's header lines, Date, Content-Length, Connection. The app's header lines must
 *  fit here (8 KiB, like nginx's default proxy_buffer_size for headers). */
export const RESPONSE_HEAD_BYTES_MAX = 8 * KiB;

/** Connections kept per upstream origin by the HTTP client (in use + idle). Past this a
 *  fetch waits for one to come free, so a slow upstream cannot make the server open
 *  thousands of sockets; 64 is undici's order of magnitude for one origin. */
export const FETCH_SOCKETS_PER_ORIGIN_MAX = 64;

/** An idle upstream connection is closed after this long. Below the 5 s keep-alive most
 *  servers use (Node's included), so we close first instead of racing their close. */
export const FETCH_IDLE_TIMEOUT_MS = 4_000;

/** Time to establish an upstream connection (DNS included) before the fetch fails with
 *  FetchError.Timeout. */
export const FETCH_CONNECT_TIMEOUT_MS = 5_000;

/** Default time for a whole fetch (connect, send, complete response) when the app sets
 *  none; past it the fetch fails with FetchError.Timeout and the connection is closed. */
export const FETCH_TIMEOUT_MS_DEFAULT = 10_000;

/** Largest upstream response head (status line and fields). Like HEADER_BYTES_MAX. */
export const FETCH_HEAD_BYTES_MAX = 16 * KiB;

/** Default largest upstream response body. It is also capped by what is free in the
 *  request's arena; a larger body is FetchError.TooLarge, never a trap. */
export const FETCH_BODY_BYTES_MAX_DEFAULT = 8 * MiB;

/** Upstream origins (host:port as spelled) the HTTP client keeps a connection pool for.
 *  An app may take the upstream from its clients, and every spelling of a host is an
 *  origin (27,000 spellings of 127.0.0.1 once grew RSS by 190 MiB), so past it the least
 *  recently used pool with no fetch in flight is closed, and a fetch to a new origin fails
 *  with FetchError.Unavailable only when every pool has one. 256 is far more upstreams
 *  than an app talks to, and as many as the default slots: each busy pool holds a slot. */
export const FETCH_ORIGINS_MAX = 256;

/** Longest failure message a fetch writes into the app's arena; messages are one sentence,
 *  and a long URL quoted in one is cut here rather than taking the arena. */
export const FETCH_ERROR_MESSAGE_BYTES_MAX = 1 * KiB;

/** Longest single sleep an app may ask for; a longer one is clamped, so a typo cannot
 *  park a slot for days. */
export const SLEEP_MS_MAX = 60_000;

/** Longest environment variable value or log line the host accepts from the app. */
export const LOG_LINE_BYTES_MAX = 16 * KiB;

/** CPU time one request may use, summed over the stretches it runs between effects. Past
 *  it the request is stopped (its wasm traps) and gets 500 ARENA_E_CPU; an endless loop
 *  cannot stall the server. Fastly Compute allows 50 ms; pages here take well under 1 ms.
 *  Checked every CPU_CHECK_STEP loop iterations or calls (cli/instrument.ts). */
export const CPU_BUDGET_MS_DEFAULT = 100;

/** How far the thread CPU clock Node reads (getrusage) may lag: it advances in scheduler
 *  ticks (4 ms at the usual HZ=250), so a request's stretch is charged at most its thread
 *  CPU time plus this, and never more than its wall time (host/abi/slot_context.ts). The
 *  charge can be off by about two ticks either way: budgets under ~20 ms are approximate. */
export const THREAD_CPU_CLOCK_SLACK_MS = 4;

/** CPU time the app's start-up code may use before the server refuses to start. */
export const STARTUP_CPU_MS_MAX = 10_000;

/** A response body up to this size is copied after the head in the slot's head reserve
 *  and sent with one write() instead of a two-part writev(): the copy costs less than the
 *  kernel's extra work for a second buffer at this size (W1, measured in the benchmark). */
export const SMALL_BODY_COPY_BYTES_MAX = 2 * KiB;

/** Listening sockets the server opens on its one host:port (SO_REUSEPORT, where the
 *  kernel spreads new connections over them). libuv accepts one connection per listening
 *  socket per event-loop iteration, and under CPU load one iteration runs every ready
 *  request (~14 ms for 64 busy connections at W2b), so with one socket a burst of 64 new
 *  connections waited 64 iterations (~1 s) for its last accept; 16 take it in 6–11. Past
 *  16 the gain is small (32 cut the burst's slowest answer by a fifth more), and an idle
 *  listening socket costs a file descriptor and nothing per iteration (docs/performance.md,
 *  "Tail latency: new connections under load"). */
export const ACCEPT_LISTENERS = 16;

/** Default listen address: loopback, so a fresh `npm start` is not exposed. */
export const HOST_DEFAULT = "127.0.0.1";
export const PORT_DEFAULT = 3000;

/** Longest route pattern the host records for error lines (`arena.route`); a longer one is
 *  ignored rather than read, since it comes from the app. */
export const ROUTE_PATTERN_BYTES_MAX = 1 * KiB;

/** Byte copies up to this size are done by a plain loop: `set(subarray())` makes a view
 *  object per call, and heads and small bodies are the common case (W1 heap per request). */
export const COPY_BY_HAND_BYTES_MAX = 512;

/** A connection refused past --connections is given this long to read its 503 before it
 *  is closed. */
export const REFUSED_LINGER_MS = 1_000;

// Relations between the limits, checked when this module loads: a change that breaks one
// fails at start, not in production.
assert(URI_BYTES_MAX < HEADER_BYTES_MAX, "a request target fits in a request head");
assert(RESPONSE_HEAD_BYTES_MAX <= ARENA_BYTES_MIN / 2, "the response head reserve is at most half the smallest slot");
assert(HEADER_BYTES_MAX + HEADER_COUNT_MAX * 16 + 256 < (ARENA_BYTES_MIN - RESPONSE_HEAD_BYTES_MAX) / 2,
  "the largest head, its header table and descriptor fit in the first half of the smallest arena");
assert(BODY_IDLE_TIMEOUT_MS <= BODY_TIMEOUT_MS, "a pause in a body is shorter than the whole body's time");
assert(REQUEST_DEADLINE_MS_DEFAULT > FETCH_TIMEOUT_MS_DEFAULT, "a slow upstream is reported by the app's fetch before the request's deadline cuts it off");
assert(FETCH_IDLE_TIMEOUT_MS < KEEPALIVE_TIMEOUT_MS, "upstream sockets close before the usual 5 s keep-alive of the server at the other end");
assert(BODY_SLOTS_SHARE > 0 && BODY_SLOTS_SHARE < 1, "bodies that stream into slots leave some slots to requests that are ready");
assert(SMALL_BODY_COPY_BYTES_MAX < RESPONSE_HEAD_BYTES_MAX, "a small body copied after the head fits the head reserve with it");
assert(CHUNK_LINE_BYTES_MAX <= HEADER_BYTES_MAX && TRAILER_BYTES_MAX <= HEADER_BYTES_MAX, "chunk lines and trailers are bounded like a head");
assert(CPU_BUDGET_MS_DEFAULT < REQUEST_DEADLINE_MS_DEFAULT, "the CPU budget is spent well within the deadline");
assert(HEADER_BYTES_MAX + HEADER_COUNT_MAX * 16 + 256 + 8 * KiB <= BODY_DECODE_RESERVE_BYTES,
  "the body's reserve holds the largest head, its header table and descriptor, and 8 KiB or more for the handler");
assert((ARENA_BYTES_MIN - RESPONSE_HEAD_BYTES_MAX - BODY_DECODE_RESERVE_BYTES) / BODY_DECODE_FACTOR >= 8 * KiB,
  "the smallest arena still takes an 8 KiB body and its text");
assert(Number.isInteger(ACCEPT_LISTENERS) && ACCEPT_LISTENERS >= 1, "the server listens with one socket at least");
assert(BODY_DECODE_FACTOR >= 3, "a body's share of the arena holds the body and its UTF-16 text (2 bytes per body byte at most)");

// The shared region (host/memory/shared_region.ts): counters and a small key-value store on
// one SharedArrayBuffer that every worker of a server reaches, fixed at start like the rest.

/** Bytes of the shared region when the server is given none: the default counters (16 KiB)
 *  and about 3,500 entries of the default key and value sizes. Small next to the slots
 *  (256 MiB), large enough for sessions or feature flags of a small service. */
export const SHARED_BYTES_DEFAULT = 4 * MiB;

/** Largest shared region: its offsets stay far inside what an Int32Array indexes, and a
 *  region this size is a database, which the shared region is not meant to be. */
export const SHARED_BYTES_MAX = 1024 * MiB;

/** Named counters a region holds by default: each takes one 64-byte cache line (so two
 *  workers adding to two counters never contend for a line), 16 KiB in all. Names are never
 *  removed, so this bounds the names an app uses, not the counts it keeps. */
export const SHARED_COUNTERS_DEFAULT = 256;

/** Longest counter name in UTF-8 bytes: what is left of a counter's 64-byte line after its
 *  state, length and 8-byte value. Names are identifiers ("hits", "orders.created"). */
export const SHARED_COUNTER_NAME_BYTES_MAX = 48;

/** Longest shared key by default, in UTF-8 bytes: a session id (43 characters of base64url
 *  for 32 random bytes) with a prefix fits several times. Every entry reserves this much. */
export const SHARED_KEY_BYTES_MAX_DEFAULT = 128;

/** Largest shared value by default. Every entry reserves this much (fixed slots: no
 *  allocator and no fragmentation in the region), so it is small: a session's user, a flag,
 *  a short JSON document. A larger value is SharedSet.TooLarge. */
export const SHARED_VALUE_BYTES_MAX_DEFAULT = 1 * KiB;

/** Longest wait for the shared store's lock or for a counter another thread is naming. Both
 *  are held for microseconds (a copy of one value at most), so a wait this long means the
 *  holder died inside (a worker terminated mid-call): the caller fails loudly (the request
 *  gets 500) instead of every worker hanging in silence. */
export const SHARED_LOCK_WAIT_MS_MAX = 1_000;

assert(SHARED_BYTES_DEFAULT <= SHARED_BYTES_MAX, "the default shared region is within the largest one");
assert(SHARED_COUNTERS_DEFAULT * 64 + SHARED_KEY_BYTES_MAX_DEFAULT + SHARED_VALUE_BYTES_MAX_DEFAULT < SHARED_BYTES_DEFAULT / 64,
  "the default shared region's counters leave nearly all of it to the store's entries");
assert(SHARED_COUNTER_NAME_BYTES_MAX + 16 === 64, "a counter's name, state, length and value fill one 64-byte cache line");

/** What the Node process of `arena serve` costs beside its app's wasm memory: the node
 *  binary's pages, V8 and its heaps, the type stripper that runs the host's TypeScript, the
 *  host and its buffers (`arena budget` adds it). Measured with bench/runtime_overhead.ts
 *  (Node 26.10, x86-64): a real `arena serve --workers 1` of examples/hello at the default
 *  sizes, idle after 40,000 keep-alive requests, has an RSS of 113.4–113.7 MiB less its
 *  resident wasm; with workers, the primary beside them is 112 MiB. Rounded up for an app's
 *  larger responses in flight. */
export const NODE_PROCESS_BYTES = 120 * MiB;

/** What each worker thread adds beside its wasm memory: its own V8 isolate and heap, its
 *  copy of the type stripper and of the host. Measured with bench/runtime_overhead.ts:
 *  `arena serve --workers 2, 3, 4` under the same load grows by 26.1 MiB of RSS less
 *  resident wasm per worker (164 → 216 MiB); rounded up. */
export const NODE_WORKER_BYTES = 28 * MiB;

/** Wait before a worker thread that stopped is started again: a build that kills its
 *  worker at once would otherwise restart it in a tight loop, each start compiling the
 *  app; a second is short next to the time an operator needs to notice the log line. */
export const WORKER_RESTART_DELAY_MS = 1_000;

/** A worker thread that has not sampled its gauges (every TIMER_SWEEP_MS) for this long
 *  has a stuck event loop, and /healthz says 503 so that an orchestrator restarts the
 *  process. Far above any wait a healthy worker has: a request's CPU budget (100 ms by
 *  default) and a garbage collection are both well under a second. */
export const WORKER_STALL_MS = 5_000;

/** Failed starts in a row after which a worker is given up on: /healthz answers 503 so that
 *  an orchestrator restarts the whole process (a worker that cannot start again, say its
 *  memory cannot be reserved, will not by trying on). */
export const WORKER_START_FAILURES_MAX = 5;

/** Worker threads at most (--workers). Each holds a whole app memory; past a few hundred
 *  the machine, not this limit, is what is wrong. */
export const WORKERS_MAX = 256;

// Operations (host/ops/): the metrics block each worker writes, the access log's buffers.

/** Routes the metrics name per worker; a route past them is counted under "other". Bounds
 *  the series a scrape returns however many patterns an app registers (64 × the status
 *  buckets × workers), and the route table's share of each worker's block. */
export const METRICS_ROUTES_MAX = 64;

/** Longest route pattern named in the metrics, in UTF-8 bytes; a longer one is counted under
 *  "other" (cutting it could make two routes one). Patterns are short ("/users/:id"). */
export const METRICS_ROUTE_NAME_BYTES_MAX = 128;

/** Each of the access log's two buffers: about 250 lines of a typical request, so a busy
 *  worker flushes a few times per 100 ms and a stalled writer costs 128 KiB at most. */
export const ACCESS_LOG_BUFFER_BYTES = 64 * KiB;

/** The access log is written at least this often: lines reach the file within a tenth of a
 *  second without one write per request. */
export const ACCESS_LOG_FLUSH_MS = 100;

/** Longest access log line: PIPE_BUF on Linux, so one line written to a pipe shared by
 *  several workers (stdout) is never interleaved with another worker's. */
export const ACCESS_LOG_LINE_BYTES_MAX = 4 * KiB;

/** Most bytes of a request's path, once escaped, an access log line carries; the rest is
 *  cut. Leaves the line's other fields room under ACCESS_LOG_LINE_BYTES_MAX. */
export const ACCESS_LOG_PATH_BYTES_MAX = 2 * KiB;

assert(ACCESS_LOG_PATH_BYTES_MAX + 6 * METRICS_ROUTE_NAME_BYTES_MAX + 6 * 32 + 512 <= ACCESS_LOG_LINE_BYTES_MAX,
  "an access log line's escaped path, route and method and its other fields fit the longest line");
assert(ACCESS_LOG_LINE_BYTES_MAX <= ACCESS_LOG_BUFFER_BYTES, "the longest access log line fits one buffer");

/** Distinct route patterns a worker keeps decoded (each one's name, once): far more than
 *  METRICS_ROUTES_MAX, so the access log names the routes the metrics count as "other"; a
 *  pattern past it is logged as "other" too. */
export const METRICS_ROUTE_KEYS_MAX = 1024;

assert(WORKER_STALL_MS >= 10 * TIMER_SWEEP_MS, "a worker is called stuck only after many missed samples");

// Response compression (host/http/compress.ts).

/** Default smallest response body that is compressed (--compress-min-bytes): below about
 *  a kilobyte the bytes saved are a fraction of one TCP segment and of the headers, and do
 *  not pay for the CPU. */
export const COMPRESS_MIN_BYTES_DEFAULT = 1 * KiB;

/** Largest response body that is compressed; a larger one is sent as it is. Compression
 *  runs synchronously on the worker's event loop, so this bounds the stall one response
 *  can cause every other connection of the worker: about 2 ms at the chosen levels, which
 *  cost 5-8 µs of CPU per KB (bench/compress.ts, docs/performance.md "Compression"). */
export const COMPRESS_BODY_BYTES_MAX = 256 * KiB;

assert(COMPRESS_MIN_BYTES_DEFAULT < COMPRESS_BODY_BYTES_MAX, "some bodies are compressed by default");

// Streaming responses and Server-Sent Events (host/http/connection.ts's stream path,
// host/effects/stream.ts, host/effects/events.ts).

/** Share of the slots that streaming responses may hold at once. A stream keeps its slot
 *  for its whole life (an event stream for hours), so without a cap a page of open event
 *  streams would take every slot; past it Stream.start is refused and the client gets 503
 *  ARENA_E_STREAMS. With BODY_SLOTS_SHARE it still leaves a quarter of the slots to
 *  ordinary requests. */
export const STREAM_SLOTS_SHARE = 0.25;

/** Event topics (Events.publish / Events.waitAfter) one worker keeps. A topic is a name and
 *  its latest id, made on first use and never dropped, so the table is bounded by this
 *  rather than by what apps name; an app needs a handful. */
export const EVENT_TOPICS_MAX = 64;

/** Longest topic name in UTF-8 bytes: names are short labels ("notes"). */
export const EVENT_TOPIC_BYTES_MAX = 64;

/** Longest single Events.waitAfter; a longer one is clamped (like SLEEP_MS_MAX). A stream
 *  waits again after each timeout, writing a keep-alive comment in between. */
export const EVENTS_WAIT_MS_MAX = 60_000;

assert(BODY_SLOTS_SHARE + STREAM_SLOTS_SHARE < 1, "slots streaming bodies in and responses out still leave slots to ordinary requests");
assert(EVENTS_WAIT_MS_MAX <= SLEEP_MS_MAX, "an event wait parks a slot no longer than a sleep may");

// SQLite (host/effects/sqlite.ts): what an app's databases may hold on the host.

/** Databases one build may open: each is a connection with its own page cache (SQLite's
 *  default, about 2 MiB), so an app that opened one per request would grow the process. */
export const SQLITE_DATABASES_MAX = 8;

/** Prepared statements one build may hold, over all its databases: they are prepared at
 *  start-up and kept for the life of the build, a few KiB each. */
export const SQLITE_STATEMENTS_MAX = 1024;

/** Rows one query may return; past it the query is a TooLarge value, never cut short
 *  silently. At 16 bytes a cell, a page of a list is far below it. */
export const SQLITE_ROWS_MAX = 10_000;

/** Arguments one query may bind: SQLite's own default limit is 32,766, but a statement
 *  with more than a few hundred placeholders is a list that belongs in a table. */
export const SQLITE_PARAMS_MAX = 1000;

/** Longest SQL text a prepare or a migration takes, in UTF-8 bytes: schema scripts are
 *  kilobytes; the text is decoded into one JS string on the host. */
export const SQLITE_SQL_BYTES_MAX = 1 * MiB;

/** How long a statement waits for another connection's lock (another worker writing)
 *  before it is a Busy value. The wait blocks this worker's event loop, so it is short. */
export const SQLITE_BUSY_TIMEOUT_MS = 1000;

/** Most bytes of an SQLite error message written back to the app: one sentence. */
export const SQLITE_ERROR_BYTES_MAX = 512;

/** Rows a query produces between two looks at the clock: a query that streams rows is
 *  stopped within this many rows of passing its request's CPU budget. */
export const SQLITE_CLOCK_ROWS = 256;

assert(SQLITE_CLOCK_ROWS * 10 <= SQLITE_ROWS_MAX, "a query that returns its most rows looks at the clock at least ten times");

/** Fetches one fetchAll (`arena.fetch_all`) may run at once: each takes a share of the
 *  request's free arena for its response and a socket of its origin's pool, so a page that
 *  needs more upstream calls than 8 gets smaller shares than any real response needs. */
export const PARALLEL_FETCHES_MAX = 8;

assert(PARALLEL_FETCHES_MAX * FETCH_HEAD_BYTES_MAX * 2 <= ARENA_BYTES_DEFAULT, "every fetch of a full group has room for two response heads in a default arena");

// The device region (host/memory/device_region.ts): host memory outside every wasm memory,
// addressed by handle: the static files of --static and the buffers an app allocates with
// Device.alloc. It is allocated as it is used, never up front, and bounded as a whole.

/** Bytes the device region may hold when the server is given no --device-bytes: static
 *  files and app buffers together, once for all workers. A site's CSS, scripts, fonts and
 *  images fit many times over; it is the same order as the default slots (256 MiB), so the
 *  default process at most doubles its memory for it. */
export const DEVICE_BYTES_DEFAULT = 256 * MiB;

/** Largest --device-bytes: far more than a wasm32 memory can hold (the point of the region),
 *  and still a number a Kubernetes limit can be written in. */
export const DEVICE_BYTES_MAX = 64 * 1024 * MiB;

/** Largest single device buffer or static file: sizes and offsets cross the ABI as i32, so
 *  one buffer stays below 2 GiB; larger data is several buffers. */
export const DEVICE_BUFFER_BYTES_MAX = 1024 * MiB;

/** Device handles one build of the app may hold at once (its own buffers and the static
 *  files it opened): a handle's index is 16 bits (the other 15 are its generation), and a
 *  table this long is scanned by no request (freed indices are kept in a list). */
export const DEVICE_HANDLES_MAX = 4096;

/** Files --static loads at most: each is a map entry and a few precomputed header lines in
 *  every worker; a folder with more is a build output to put behind a CDN. */
export const STATIC_FILES_MAX = 10_000;

/** Largest file compressed at load when it has no .br / .gz beside it: brotli's best
 *  quality costs about 1 s per MiB, paid once per file at start; a larger file is served as
 *  it is unless the build wrote its compressed variants. */
export const STATIC_COMPRESS_BYTES_MAX = 1 * MiB;

assert(DEVICE_BYTES_DEFAULT <= DEVICE_BYTES_MAX, "the default device region is within the largest one");
assert(DEVICE_HANDLES_MAX < 0x10000, "a device handle's index fits its 16 bits");
assert(DEVICE_BUFFER_BYTES_MAX < 2 ** 31, "a device buffer's sizes and offsets fit an i32");
