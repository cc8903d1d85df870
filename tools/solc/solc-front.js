#!/usr/bin/env node
// A `solc` command line for py-solc-x and Brownie, answered by solc-js (the
// official compiler built to WebAssembly), because no native solc can be
// downloaded on these machines. py-solc-x only ever makes two calls:
//   solc --version                       -> "Version: X.Y.Z+commit.H..."
//   solc --standard-json [--allow-paths P] [--base-path B] [--include-path I]  (JSON on stdin)
// Imports are read from disk the way native solc reads them: relative to the
// base path and include paths, and only inside the allowed paths.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const opts = { allowPaths: [], includePaths: [], basePath: null, mode: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case "--version": opts.mode = "version"; break;
      case "--standard-json": opts.mode = "standard-json"; break;
      case "--allow-paths": opts.allowPaths.push(...value().split(",").filter(Boolean)); break;
      case "--base-path": opts.basePath = value(); break;
      case "--include-path": opts.includePaths.push(value()); break;
      default:
        // Native solc rejects unknown flags; say so rather than guess.
        throw new Error(`unsupported option ${arg}: this solc front only supports --version and --standard-json`);
    }
  }
  return opts;
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function makeImportReader(opts) {
  const base = path.resolve(opts.basePath || process.cwd());
  const roots = [base, ...opts.includePaths.map((p) => path.resolve(p))];
  const allowed = [base, ...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  return function readImport(importPath) {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const candidate of candidates) {
      if (!fs.existsSync(candidate)) continue;
      // A path inside an allowed directory is fine even through a symlink
      // (node_modules is often one).
      const file = path.resolve(candidate);
      if (!allowed.some((dir) => isInside(file, dir) || isInside(fs.realpathSync(file), dir))) {
        return { error: `File outside of allowed directories: ${importPath}` };
      }
      return { contents: fs.readFileSync(file, "utf8") };
    }
    return { error: `File not found: ${importPath} (searched in ${roots.join(", ")})` };
  };
}

function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      if (e.code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function fatal(message) {
  // Same shape as native solc's standard-json errors, so callers report it.
  return JSON.stringify({
    errors: [{ type: "JSONError", component: "general", severity: "error", message, formattedMessage: message }],
  });
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
    return;
  }
  if (opts.mode === "version") {
    // py-solc-x parses "X.Y.Z+commit.H" from this line.
    process.stdout.write(`solc, the solidity compiler commandline interface (solc-js)\nVersion: ${solc.version()}\n`);
    return;
  }
  if (opts.mode !== "standard-json") {
    process.stderr.write("usage: solc --version | solc --standard-json [--base-path B] [--allow-paths P] < input.json\n");
    process.exitCode = 1;
    return;
  }
  const input = readStdin();
  let output;
  try {
    JSON.parse(input);
    output = solc.compile(input, { import: makeImportReader(opts) });
  } catch (e) {
    output = fatal(`Invalid standard JSON input or compiler failure: ${e.message}`);
  }
  // Let the process end on its own: process.exit() truncates large piped output.
  process.stdout.write(output);
}

main();
