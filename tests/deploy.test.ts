// The Kubernetes manifest (deploy/kubernetes/arena.yaml) says what `arena budget` says: its
// container's args and env are read back, budgeted, and the memory request and limit must
// be the ones printed for them; the probes must reach the admin port the args name; the
// grace period must outlast the preStop pause and the drain. Also `arena budget` itself: its
// figures add up, and every bad input is one line.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { budgetCommand, computeBudget, kubernetesQuantity, resourcesSnippet } from "../cli/budget.ts";
import { CONNECTION_BYTES_MAX, NODE_PROCESS_BYTES, NODE_WORKER_BYTES, SHUTDOWN_TIMEOUT_MS } from "../host/index.ts";
import { DEVICE_BYTES_DEFAULT } from "../host/limits.ts";
import { ROOT } from "./helpers.ts";
import { parseYaml, type Yaml } from "./yaml_subset.ts";

const MANIFEST = path.join(ROOT, "deploy/kubernetes/arena.yaml");
/** `arena budget`, as an operator runs it. */
const BUDGET = [path.join(ROOT, "cli/arena.ts"), "budget"];
const MiB = 1024 * 1024;

type Obj = { [key: string]: Yaml };
const obj = (v: Yaml | undefined): Obj => {
  assert.ok(v !== undefined && typeof v === "object" && !Array.isArray(v), `a map, got ${JSON.stringify(v)}`);
  return v;
};
const list = (v: Yaml | undefined): Yaml[] => {
  assert.ok(Array.isArray(v), `a list, got ${JSON.stringify(v)}`);
  return v;
};

/** The manifest's Deployment, its one container, the serve args and the env as a map. */
function readManifest() {
  const docs = parseYaml(fs.readFileSync(MANIFEST, "utf8")).map(obj);
  const deployment = docs.find((d) => d.kind === "Deployment")!;
  const service = docs.find((d) => d.kind === "Service")!;
  assert.ok(deployment && service, "the manifest has a Deployment and a Service");
  const pod = obj(obj(obj(deployment.spec).template).spec);
  const containers = list(pod.containers).map(obj);
  assert.equal(containers.length, 1);
  const container = containers[0];
  const args = list(container.args) as string[];
  assert.equal(args[0], "serve", "the container runs arena serve");
  const env: Record<string, string> = {};
  for (const e of list(container.env).map(obj)) env[e.name as string] = e.value as string;
  return { deployment, service, pod, container, args, env };
}

/** The value after `--name` in args. */
function flag(args: string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  assert.ok(i >= 0 && i + 1 < args.length, `args name --${name}`);
  return args[i + 1];
}

describe("deploy/kubernetes/arena.yaml", () => {
  it("requests and limits the memory `arena budget` prints for its own args and env", () => {
    const { container, args, env } = readManifest();
    // The worker count is the manifest's, not the count of cores of the machine running this test.
    assert.ok(args.includes("--workers") || env.ARENA_WORKERS !== undefined, "the manifest sets its worker count");
    const budgetArgs = args.slice(1);
    const resources = obj(container.resources);
    const requests = obj(resources.requests);
    const limits = obj(resources.limits);
    const b = computeBudget(budgetArgs, env);
    assert.equal(requests.memory, kubernetesQuantity(b.requestBytes));
    assert.equal(limits.memory, kubernetesQuantity(b.limitBytes));
    // One CPU per worker: fewer would share a core between workers.
    assert.equal(Number(requests.cpu), b.workers);
    // And the command as an operator runs it prints the same block.
    const r = spawnSync(process.execPath, [...BUDGET, ...budgetArgs, "--format", "k8s"], {
      cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env, ARENA_WORKERS: "" },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`requests:\\n    memory: ${requests.memory}\\n  limits:\\n    memory: ${limits.memory}\\n$`));
  });

  it("probes /readyz and /healthz on the admin port of its args", () => {
    const { container } = readManifest();
    const adminPort = Number(flag(container.args as string[], "admin-port"));
    const ports = list(container.ports).map(obj);
    const portOf = (p: Yaml) => {
      const named = ports.find((x) => x.name === p);
      return Number(named ? named.containerPort : p);
    };
    const readiness = obj(obj(container.readinessProbe).httpGet);
    const liveness = obj(obj(container.livenessProbe).httpGet);
    assert.equal(readiness.path, "/readyz");
    assert.equal(liveness.path, "/healthz");
    assert.equal(portOf(readiness.port), adminPort);
    assert.equal(portOf(liveness.port), adminPort);
    // The app's port is a container port, and the Service sends its traffic there, not to admin.
    const appPort = Number(flag(container.args as string[], "port"));
    assert.ok(ports.some((p) => Number(p.containerPort) === appPort));
    const { service } = readManifest();
    for (const p of list(obj(service.spec).ports).map(obj)) assert.equal(portOf(p.targetPort), appPort);
    // The kubelet probes and the Service connects to the pod's address, not its loopback.
    assert.equal(flag(container.args as string[], "host"), "0.0.0.0");
    assert.equal(flag(container.args as string[], "admin-host"), "0.0.0.0");
  });

  it("gives a stopping pod longer than the preStop pause and the drain", () => {
    const { pod, container } = readManifest();
    const grace = Number(pod.terminationGracePeriodSeconds);
    const preStop = Number(obj(obj(obj(container.lifecycle).preStop).sleep).seconds);
    assert.ok(grace > preStop + SHUTDOWN_TIMEOUT_MS / 1000, `terminationGracePeriodSeconds ${grace} > ${preStop} + ${SHUTDOWN_TIMEOUT_MS / 1000}`);
  });
});

describe("arena budget", () => {
  it("adds up: Node, the workers' memories, the shared region; then a reload and every connection", () => {
    const b = computeBudget(["--workers", "3", "--slots", "8", "--arena-bytes", "128KiB", "--heap-bytes", "0", "--connections", "50"], {
      ARENA_SHARED_BYTES: "1MiB", ARENA_STARTUP_BYTES: "1MiB",
    });
    const perWorker = 8 * 128 * 1024 + MiB;
    assert.equal(b.plan.totalBytes, perWorker);
    assert.equal(b.workersBytes, 3 * perWorker);
    assert.equal(b.sharedBytes, MiB);
    assert.equal(b.runtimeBytes, NODE_PROCESS_BYTES + 3 * NODE_WORKER_BYTES);
    assert.equal(b.deviceBytes, DEVICE_BYTES_DEFAULT);
    assert.equal(b.requestBytes, b.runtimeBytes + 3 * perWorker + MiB + DEVICE_BYTES_DEFAULT);
    assert.equal(b.reloadBytes, perWorker);
    assert.equal(b.connectionsBytes, 3 * 50 * CONNECTION_BYTES_MAX);
    assert.equal(b.limitBytes, b.requestBytes + perWorker + 3 * 50 * CONNECTION_BYTES_MAX);
    // One worker is the main thread: no worker threads to count.
    assert.equal(computeBudget(["--workers", "1"], {}).runtimeBytes, NODE_PROCESS_BYTES);
    // The default is one worker per core, and ARENA_WORKERS sets it; the flag wins.
    assert.equal(computeBudget([], {}, 5).workers, 5);
    assert.equal(computeBudget([], { ARENA_WORKERS: "4" }, 5).workers, 4);
    assert.equal(computeBudget(["--workers=2"], { ARENA_WORKERS: "4" }, 5).workers, 2);
  });

  it("rounds quantities up to whole MiB", () => {
    assert.equal(kubernetesQuantity(512 * MiB), "512Mi");
    assert.equal(kubernetesQuantity(512 * MiB + 1), "513Mi");
    const b = computeBudget(["--workers", "1"], {});
    assert.match(resourcesSnippet(b, 2), /^ {2}resources:\n {4}requests:\n {6}memory: \d+Mi\n {4}limits:\n {6}memory: \d+Mi$/);
  });

  it("prints the table, then the resources block", async () => {
    let out = "";
    const code = await budgetCommand(["app.wasm", "--workers", "2"], { stdout: { write: (s: string) => (out += s) }, stderr: process.stderr }, {});
    assert.equal(code, 0);
    for (const row of ["per worker, fixed wasm memory", "× 2 workers", "shared region", "device region, at most", "Node runtime", "steady state", "reload headroom", "connections, at most", "worst case"]) {
      assert.ok(out.includes(row), `${row} in:\n${out}`);
    }
    assert.match(out, /\n\nresources:\n {2}requests:\n {4}memory: \d+Mi\n {2}limits:\n {4}memory: \d+Mi\n$/);
  });

  it("every bad input is one line and exit 1", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--workers", "0"], {}, /^arena: ARENA_E_CONFIG: --workers: 0 is out of range \(use a number from 1 to \d+\)$/],
      [[], { ARENA_WORKERS: "many" }, /^arena: ARENA_E_CONFIG: ARENA_WORKERS: 'many' is not a whole number/],
      [["--slots", "5000"], {}, /^arena: ARENA_E_CONFIG: memory: 5000 slots × 1 MiB .* is over the wasm32 limit of 4 GiB/],
      [["--arena-bytes", "lots"], {}, /^arena: ARENA_E_CONFIG: --arena-bytes: 'lots' is not a size/],
      [["--shared-bytes", "x"], {}, /^arena: ARENA_E_CONFIG: --shared-bytes: 'x' is not a size/],
      [["--admin-port", "70000"], {}, /^arena: ARENA_E_CONFIG: --admin-port: 70000 is out of range/],
      [["--format", "yaml"], {}, /^arena: ARENA_E_USAGE: --format: 'yaml' is not a format \(use one of text, k8s, json\)$/],
      [["--nope", "1"], {}, /^arena: ARENA_E_USAGE: unknown option --nope/],
      [["--workers"], {}, /^arena: ARENA_E_USAGE: --workers needs a value/],
      [["a.wasm", "b.wasm"], {}, /^arena: ARENA_E_USAGE: unexpected argument 'b\.wasm'/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = spawnSync(process.execPath, [...BUDGET, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ARENA_WORKERS: "", ...env } });
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    }
  });
});
