// promtool, Prometheus's own checker, for tests that validate the metrics text. It comes
// from Debian's `prometheus` package and is installed with apt-get when missing, as the
// benchmark installs nginx and wrk (bench/nginx.ts): CI is a fresh Debian machine where
// the tests run as root. When it cannot be had the test fails with what to do.

import { execFileSync, spawnSync } from "node:child_process";

let checked = false;

/** Makes sure `promtool` runs, installing Debian's prometheus package when it does not;
 *  throws an Error saying what to do when it cannot. */
export function ensurePromtool(): void {
  if (checked || spawnSync("promtool", ["--version"]).error === undefined) {
    checked = true;
    return;
  }
  process.stderr.write("promtool not found: installing it from Debian's packages (apt-get install prometheus)\n");
  try {
    execFileSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus"],
      { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    throw new Error("promtool is not installed and `apt-get install prometheus` failed: install Debian's prometheus package (or put promtool on PATH) and run the tests again");
  }
  if (spawnSync("promtool", ["--version"]).error !== undefined) {
    throw new Error("apt-get installed the prometheus package but promtool is not on PATH");
  }
  checked = true;
}

/** `promtool check metrics` over `text` (Prometheus text format): its exit status and what
 *  it printed (the lint problems). */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  ensurePromtool();
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
