// Preloaded into Helicone's own exporter by benchmarks/export_bench.py
// (`node --require helicone_fetch_redirect.cjs dist/cli.js ...`): the exporter has no base-URL
// option, so its calls to Helicone's API hosts are sent to the host named by
// EXPORT_BENCH_API_URL (the benchmark's local stand-in) instead. The exporter's code is not
// touched; every other URL (the presigned body URLs) is fetched as it is.
"use strict";

const target = (process.env.EXPORT_BENCH_API_URL || "").replace(/\/+$/, "");
const HOSTS = ["https://api.helicone.ai", "https://eu.api.helicone.ai"];

function redirected(url) {
  for (const host of HOSTS) {
    if (url === host || url.startsWith(host + "/")) {
      return target + url.slice(host.length);
    }
  }
  return null;
}

if (target) {
  const original = globalThis.fetch;
  globalThis.fetch = function fetch(input, init) {
    const url =
      typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const moved = redirected(url);
    if (moved === null) {
      return original(input, init);
    }
    if (typeof input === "string" || input instanceof URL) {
      return original(moved, init);
    }
    return original(new Request(moved, input), init);
  };
}
