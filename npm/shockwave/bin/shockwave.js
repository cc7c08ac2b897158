#!/usr/bin/env node
// Runs the shockwave binary of this platform's package (`@shockwave/linux-x64`, ...), which npm
// installed as an optional dependency: npm installs only the one whose `os` and `cpu` match.
// `SHOCKWAVE_BINARY` names another binary to run instead.
"use strict";

const { spawn } = require("child_process");

const manifest = require("../package.json");

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

function binaryPath() {
  if (process.env.SHOCKWAVE_BINARY) {
    return process.env.SHOCKWAVE_BINARY;
  }
  const name = `@shockwave/${process.platform}-${process.arch}`;
  const supported = Object.keys(manifest.optionalDependencies || {});
  if (!supported.includes(name)) {
    fail(
      `shockwave has no prebuilt binary for ${process.platform}-${process.arch} ` +
        `(there are: ${supported.map((p) => p.replace("@shockwave/", "")).join(", ")}); ` +
        "build it with `cargo install --locked shockwave`, then set SHOCKWAVE_BINARY to its path"
    );
  }
  const exe = process.platform === "win32" ? "shockwave.exe" : "shockwave";
  try {
    return require.resolve(`${name}/bin/${exe}`);
  } catch (e) {
    fail(
      `the package ${name}, which holds the shockwave binary for this platform, is not installed: ` +
        "npm leaves optional dependencies out with --omit=optional (or --no-optional), and a " +
        "lockfile written on another platform may lack it; reinstall shockwave without those"
    );
  }
}

const bin = binaryPath();
const child = spawn(bin, process.argv.slice(2), { stdio: "inherit", windowsHide: true });

// Ctrl-C reaches the whole terminal process group, shockwave included, which stops its tasks
// and exits 130: wait for it rather than exiting first. A signal sent to this process alone is
// passed on.
const forwarded = ["SIGTERM", "SIGHUP"];
process.on("SIGINT", () => {});
for (const signal of forwarded) {
  process.on(signal, () => child.kill(signal));
}

child.on("error", (e) => {
  fail(`cannot run ${bin}: ${e.message}`);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so the caller sees what the binary saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
