#!/usr/bin/env bash
# wagate against the Node server it replaces, on the send path `POST /api/messages/text`, in
# one run on the same machine: `wagate local` (release, simulated network, limits counted on
# every request but never refusing, pacing off, a session `s1` linked) beside the express-seed
# stand-in of ../shared/anchors (one process, and Node's cluster module with 2 workers), all
# loaded by wrk with the same body (../shared/anchors/post-text.lua).
#
# Each round runs, at 64 and then 256 connections, wagate, the stand-in alone and the
# stand-in clustered, one after the other (BENCH_ROUNDS rounds, BENCH_SECS seconds a run).
# wagate's session s1 is created anew for each of its runs and, by default, linked (its QR
# scanned on the simulated network) only when wrk is done: the run measures the accept path
# alone, as the stand-in (which sends nothing) is measured, and the worker then drains the
# run's sends by itself; the script waits until the queue is empty (`queueDepth`) before going
# on, and then until wagate is idle (the events of those sends are dispatched after the send
# queue is empty), so that its work never overlaps another server's run. With
# BENCH_SEND_DURING=1 the session is open during the runs and its worker (pacing off) sends
# while wrk loads the same two cores. Over each wagate run it reads the process's CPU time (/proc/PID/stat) and bytes
# written (/proc/PID/io), over the wrk run and over the drain after it, and reports them per
# accepted request. The end is a markdown table of medians over the rounds; the raw `RESULT`
# lines and the wrk and server output are kept in a directory whose path is printed.
#
#   bash scripts/bench-vs-node.sh
#   BENCH_ROUNDS=1 BENCH_SECS=3 bash scripts/bench-vs-node.sh     # a quick check
#
# Needs wrk (`apt-get install -y wrk`), node and npm (the stand-in's packages are installed
# with `npm ci` into a temporary copy), curl and python3. Environment:
#   BENCH_ROUNDS (3), BENCH_SECS (15), BENCH_CONNS ("64 256"), BENCH_RECIPIENTS (100000:
#   the `to` numbers cycled over), BENCH_DRAIN_TIMEOUT (1800 s to empty wagate's queue),
#   BENCH_SEND_DURING (0: s1 is linked after each wagate run; 1: before, so it sends during it),
#   BENCH_WRK_TIMEOUT (30s: wrk's per-request timeout; a response slower than it is left out
#   of the latency figures, and wrk's 2 s default would hide the slowest answers),
#   ANCHORS (../shared/anchors), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUNDS="${BENCH_ROUNDS:-3}"
SECS="${BENCH_SECS:-15}"
read -r -a CONNS <<<"${BENCH_CONNS:-64 256}"
RECIPIENTS="${BENCH_RECIPIENTS:-100000}"
DRAIN_TIMEOUT="${BENCH_DRAIN_TIMEOUT:-1800}"
WRK_TIMEOUT="${BENCH_WRK_TIMEOUT:-30s}"
SEND_DURING="${BENCH_SEND_DURING:-0}"
ANCHORS="${ANCHORS:-../shared/anchors}"
KEY=bench-admin-key-0123456789
SESSION=s1

# ---- what it needs ---------------------------------------------------------------------------
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
for tool in node npm curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (node and npm: apt-get install -y nodejs npm)" >&2; exit 1; }
done
for f in post-text.lua express-seed/server.js express-seed/cluster.js express-seed/package-lock.json; do
  [ -f "$ANCHORS/$f" ] || { echo "$ANCHORS/$f not found (set ANCHORS to the anchors directory)" >&2; exit 1; }
done

cargo build --release --locked -p wagate --bin wagate
T="${CARGO_TARGET_DIR:-target}/release"

WORK=$(mktemp -d)          # the database and the stand-in's copy: removed on exit
remove_on_exit "$WORK"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/wagate-bench-vs-node.XXXXXX")  # logs: kept
LOG="$OUT/results.log"

# The anchors may be read-only: a writable copy, with the stand-in's packages installed there.
cp -r "$ANCHORS/." "$WORK/anchors"
chmod -R u+w "$WORK/anchors"
LUA="$WORK/anchors/post-text.lua"
SEED="$WORK/anchors/express-seed"
echo "installing the stand-in's packages (npm ci)" >&2
(cd "$SEED" && npm ci --no-audit --no-fund --loglevel=error >"$OUT/npm-ci.log" 2>&1) || {
  echo "npm ci failed; the end of $OUT/npm-ci.log:" >&2
  tail -20 "$OUT/npm-ci.log" >&2
  exit 1
}

TCK=$(getconf CLK_TCK)
mkdir -p "$WORK/db"
if [ "$(stat -f -c %T "$WORK/db")" = tmpfs ]; then
  echo "warning: $WORK is on tmpfs, so write_bytes reads 0; set TMPDIR to a disk directory" >&2
fi

# ---- the servers -----------------------------------------------------------------------------
declare -A URL LABEL
LABEL[wagate]="wagate local (release)"
LABEL[node-1]="express-seed, 1 process"
LABEL[node-cluster]="express-seed, cluster of 2"

# wagate as scripts/bench.sh starts it, pacing off; a session s1 linked on the simulated network.
port=$(free_port)
env DATA_DIR="$WORK/db" PORT="$port" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
    QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS=0 SEND_JITTER_MS=0 \
    RUST_LOG=warn WA_CONNECTOR=simulated "$T/wagate" local >"$OUT/wagate.log" 2>&1 &
WAGATE_PID=$!
track_pid "$WAGATE_PID"
URL[wagate]="http://127.0.0.1:$port"
wait_http "${URL[wagate]}/health/live"
# The CPU and I/O figures are read from this PID: it must be wagate itself (env execs it).
[ "$(cat "/proc/$WAGATE_PID/comm")" = wagate ] || { echo "PID $WAGATE_PID is not wagate" >&2; exit 1; }

# api METHOD PATH [BODY]: wagate's answer to an admin request; fails on a non-2xx status.
api() {
  local body=()
  [ $# -lt 3 ] || body=(-H 'Content-Type: application/json' -d "$3")
  curl -sSf -m 10 -X "$1" "${URL[wagate]}$2" -H "X-API-Key: $KEY" "${body[@]}"
}
# json_field NAME: the top-level field NAME of the JSON object on stdin (null → "None").
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]))' "$1"
}

# open_session: waits until s1 is open, scanning its QR on the simulated network.
open_session() {
  local status deadline=$((SECONDS + 60))
  while :; do
    status=$(api GET "/api/sessions/$SESSION" | json_field status)
    case "$status" in
      open) return 0 ;;
      qr) api POST "/api/dev/sessions/$SESSION/scan" >/dev/null || true ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "session $SESSION did not open on the simulated network (status $status)" >&2
      exit 1
    fi
    sleep 0.2
  done
}
# fresh_session: s1 anew (deleted with its empty queue, then created); open at once when sends
# go out during the runs, otherwise left waiting for its QR scan until after the next run.
fresh_session() {
  api DELETE "/api/sessions/$SESSION" >/dev/null 2>&1 || true
  api POST /api/sessions "{\"sessionId\":\"$SESSION\"}" >/dev/null
  [ "$SEND_DURING" = 0 ] || open_session
}
fresh_session

# The stand-in, with the environment of the anchors' README and the same admin key.
start_node() {
  local name=$1 script=$2 workers=$3 pid
  port=$(free_port)
  env PORT="$port" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
      QUOTA_MAX=100000000 SPAM_COOLDOWN_MS=0 SESSIONS="$SESSION" WORKERS="$workers" \
      node "$SEED/$script" >"$OUT/$name.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  URL[$name]="http://127.0.0.1:$port"
  wait_http "${URL[$name]}/health/live"
  # Every worker listening (the primary hands connections round-robin to all of them).
  deadline=$((SECONDS + 30))
  until [ "$(grep -c 'stand-in pid' "$OUT/$name.log")" -ge "$workers" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$name: $workers workers did not start" >&2; exit 1; }
    sleep 0.1
  done
}
start_node node-1 server.js 1
start_node node-cluster cluster.js 2

SERVERS=(wagate node-1 node-cluster)

# Each server takes the request wrk will send (the same body shape, the first recipient).
for s in "${SERVERS[@]}"; do
  probe="{\"sessionId\":\"$SESSION\",\"to\":\"628100000000\",\"text\":\"load test\"}"
  code=$(curl -s -m 10 -o "$OUT/preflight-$s.json" -w '%{http_code}' "${URL[$s]}/api/messages/text" \
    -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d "$probe")
  case "$code" in
    2??) ;;
    *) echo "$s refuses the benchmark's request: HTTP $code $(cat "$OUT/preflight-$s.json")" >&2; exit 1 ;;
  esac
done
fresh_session  # without the probe's send

# ---- measuring -------------------------------------------------------------------------------
# written PID: bytes the process caused to be written to storage (write_bytes).
written() {
  awk '$1 == "write_bytes:" { print $2 }' "/proc/$1/io"
}
queue_depth() {
  api GET "/api/sessions/$SESSION" | json_field queueDepth
}
# drain: waits until wagate's send queue for s1 is empty (`queueDepth`: its messages not yet
# acked, in flight or not), saying how far it is every 15 s.
drain() {
  local depth start=$SECONDS deadline=$((SECONDS + DRAIN_TIMEOUT)) said=$SECONDS
  while :; do
    depth=$(queue_depth)
    case "$depth" in
      0) return 0 ;;
      ''|*[!0-9]*) echo "wagate reports no queueDepth for $SESSION ($depth)" >&2; exit 1 ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "wagate's send queue still holds $depth messages after ${DRAIN_TIMEOUT} s" >&2
      exit 1
    fi
    if [ $((SECONDS - said)) -ge 15 ]; then
      echo "   draining: $depth messages left after $((SECONDS - start)) s" >&2
      said=$SECONDS
    fi
    sleep 0.2
  done
}
now() { date +%s.%N; }
# calc EXPR: a float expression evaluated by awk, printed with 4 decimals.
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }

# run SERVER CONNS ROUND: one wrk run; appends its RESULT line to $LOG.
run() {
  local s=$1 c=$2 r=$3 out line n bad sock extra="" cpu0 io0 cpu1 io1 cpu2 io2 t1 t2 backlog
  out="$OUT/wrk-$s-c$c-r$r.txt"
  if [ "$s" = wagate ]; then
    [ "$(queue_depth)" = 0 ] || { echo "wagate's queue is not empty before a run" >&2; exit 1; }
    cpu0=$(cpu_ticks "$WAGATE_PID"); io0=$(written "$WAGATE_PID")
  fi
  KEY="$KEY" SESSION="$SESSION" RECIPIENTS="$RECIPIENTS" \
    wrk -t2 -c"$c" -d"${SECS}s" --timeout "$WRK_TIMEOUT" --latency -s "$LUA" \
    "${URL[$s]}/api/messages/text" >"$out" 2>&1
  if [ "$s" = wagate ]; then
    cpu1=$(cpu_ticks "$WAGATE_PID"); io1=$(written "$WAGATE_PID"); t1=$(now)
    backlog=$(queue_depth)
    [ "$SEND_DURING" = 1 ] || open_session
    drain
    # Its events are still being dispatched when the send queue is empty; the drain ended
    # where the last, idle second began.
    wait_idle "$WAGATE_PID" "$DRAIN_TIMEOUT"
    cpu2=$(cpu_ticks "$WAGATE_PID"); io2=$(written "$WAGATE_PID"); t2=$(calc "$(now) - 1")
  fi
  line=$(grep '^RESULT ' "$out") || { echo "wrk gave no RESULT line for $s; see $out" >&2; cat "$out" >&2; exit 1; }
  n=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.* non2xx=([0-9]+).*/\1/' <<<"$line")
  if [ "$s" = wagate ]; then
    local ok=$((n - bad))
    [ "$ok" -gt 0 ] || ok=1
    extra=" queue_at_end=$backlog drain_s=$(calc "$t2 - $t1")"
    extra+=" cpu_ms_per_req=$(calc "($cpu1 - $cpu0) * 1000 / $TCK / $ok")"
    extra+=" cpu_ms_per_req_drain=$(calc "($cpu2 - $cpu0) * 1000 / $TCK / $ok")"
    extra+=" kib_per_req=$(calc "($io1 - $io0) / 1024 / $ok")"
    extra+=" kib_per_req_drain=$(calc "($io2 - $io0) / 1024 / $ok")"
  fi
  [ "$s" != wagate ] || fresh_session
  line="RESULT server=$s conns=$c round=$r ${line#RESULT }$extra"
  echo "$line" | tee -a "$LOG"
  if [ "$bad" -ne 0 ]; then
    echo "FAILED: $s answered $bad of $n requests with an error status (see $out, and $OUT/$s.log)" >&2
    exit 1
  fi
  sock=$(sed -E 's/.* connect_err=([0-9]+) read_err=([0-9]+) write_err=([0-9]+) timeout=([0-9]+).*/\1 \2 \3 \4/' <<<"$line")
  if [ "$sock" != "0 0 0 0" ]; then
    echo "warning: $s, $c connections: socket errors (connect read write timeout) $sock" >&2
  fi
}

{
  echo "# bench-vs-node $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "# rounds=$ROUNDS secs=$SECS conns=${CONNS[*]} recipients=$RECIPIENTS wrk_timeout=$WRK_TIMEOUT cores=$(nproc) node=$(node --version) wrk=$(wrk --version 2>&1 | head -1 | awk '{print $2}')"
} >>"$LOG"
echo "logs in $OUT" >&2
for r in $(seq 1 "$ROUNDS"); do
  for c in "${CONNS[@]}"; do
    for s in "${SERVERS[@]}"; do
      echo "== round $r/$ROUNDS, ${LABEL[$s]}, $c connections, ${SECS} s" >&2
      run "$s" "$c" "$r"
    done
  done
done

# ---- the summary -----------------------------------------------------------------------------
echo
python3 - "$LOG" "${CONNS[*]}" "${LABEL[wagate]}" "${LABEL[node-1]}" "${LABEL[node-cluster]}" <<'PY'
import statistics
import sys

log, conns = sys.argv[1], sys.argv[2].split()
labels = {"wagate": sys.argv[3], "node-1": sys.argv[4], "node-cluster": sys.argv[5]}
runs = {}
for line in open(log):
    if not line.startswith("RESULT "):
        continue
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    runs.setdefault((f["server"], f["conns"]), []).append(f)

def med(server, c, field):
    vals = [float(f[field]) for f in runs.get((server, c), []) if field in f]
    return statistics.median(vals) if vals else None

def num(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"

def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"

rounds = max(len(v) for v in runs.values())
print(f"Medians over {rounds} round(s); ratios are of the median req/s.\n")
head = " | ".join(f"{c} conns: req/s | {c} conns: p99 ms" for c in conns)
print(f"| server | {head} |")
print("| --- |" + " --- | --- |" * len(conns))
for s in ("wagate", "node-1", "node-cluster"):
    cells = " | ".join(f"{num(med(s, c, 'rps'), 0)} | {num(med(s, c, 'p99_ms'))}" for c in conns)
    print(f"| {labels[s]} | {cells} |")
for other in ("node-cluster", "node-1"):
    cells = " | ".join(f"{ratio(med('wagate', c, 'rps'), med(other, c, 'rps'))} | " for c in conns)
    print(f"| wagate ÷ {labels[other]} (req/s) | {cells}|")

print("\n| wagate, per accepted request | " + " | ".join(f"{c} conns" for c in conns) + " |")
print("| --- |" + " --- |" * len(conns))
for field, what, digits in (
    ("cpu_ms_per_req", "CPU ms, during the run", 3),
    ("cpu_ms_per_req_drain", "CPU ms, run + drain", 3),
    ("kib_per_req", "KiB written, during the run", 2),
    ("kib_per_req_drain", "KiB written, run + drain", 2),
    ("queue_at_end", "send queue at the end of the run (messages)", 0),
    ("drain_s", "drain after the run (s)", 1),
):
    print(f"| {what} | " + " | ".join(num(med("wagate", c, field), digits) for c in conns) + " |")
PY
echo
echo "raw RESULT lines: $LOG (wrk and server output beside it)"
