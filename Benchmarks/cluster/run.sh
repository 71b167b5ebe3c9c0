#!/usr/bin/env bash
# Cluster benchmark: kv-node vs etcd, 3 members each on loopback, driven by the same wrk
# scripts. One command builds kv-node (release), runs every phase and prints the tables:
#
#   bash Benchmarks/cluster/run.sh            # full run (about 25 minutes)
#   bash Benchmarks/cluster/run.sh --quick    # smoke run (a few minutes)
#
# Options (after --quick, so they can override it):
#   --conns 1,16,64,256   connection levels        --duration 10   seconds per measured run
#   --ops "write,read,stale read"   throughput operations to run (also: cas)
#   --warmup 2            unmeasured seconds first  --rounds 20     failover rounds
#   --keys 1000000        keys for footprint/recovery
#   --phases throughput,failover,footprint,profile[,partition]
#                         partition: 2 x --rounds cuts of --partition-seconds under 64 writing
#                         connections, kv-node and etcd in network namespaces (root, nftables)
#   --partition-seconds 5 how long each partition lasts
#   --phases ...,watch-fanout  1,000 SSE watchers on one prefix while 1,000 writes/s flow
#                         (--watch-seconds 10), kv-node then etcd
#   --etcd-follower       also drive etcd through a follower
#   --etcd-native         also drive etcd through its own Go client over gRPC (etcdload;
#                         needs: apt-get install -y golang-go golang-etcd-server-dev)
#   --no-build            use the existing .build/release/kv-node
#
# Results go to .build/cluster-bench/<time>/ (results.jsonl, report.md, perf-*.txt). Every
# process started here is killed and its temporary data removed on exit, Ctrl-C or failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

conns=1,16,64,256 duration=10 warmup=2 rounds=20 keys=1000000 restarts=3
phases=throughput,failover,footprint,profile build=1 extra=() extra_partition=() extra_watch=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) conns=1,64 duration=3 warmup=1 rounds=5 keys=100000 restarts=1 ;;
    --conns) conns=$2; shift ;;
    --ops) extra+=(--ops "$2"); shift ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --keys) keys=$2; shift ;;
    --phases) phases=$2; shift ;;
    --partition-seconds) extra_partition=(--partition-seconds "$2"); shift ;;
    --watch-seconds) extra_watch=(--watch-seconds "$2"); shift ;;
    --etcd-follower) extra+=(--etcd-follower) ;;
    --etcd-native) extra+=(--etcd-native) ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The driver installs nothing: say what is missing and how to get it.
missing=()
for tool in swift etcd wrk python3 du; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ " ${extra[*]} " == *" --etcd-native "* ]] && ! command -v go >/dev/null; then
  missing+=("go (apt-get install -y golang-go golang-etcd-server-dev)")
fi
if [[ ",$phases," == *",profile,"* ]] && ! command -v perf >/dev/null; then
  missing+=(perf)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing tools: ${missing[*]}" >&2
  echo "on Debian: apt-get install -y etcd-server wrk linux-perf python3 (swift from swift.org)" >&2
  exit 1
fi
# A system etcd on its default ports would not collide with ours, but it would share the CPU.
if pgrep -x etcd >/dev/null; then
  echo "an etcd is already running (pid $(pgrep -x etcd | tr '\n' ' ')): stop it first (service etcd stop)" >&2
  exit 1
fi

stamp=$(date +%Y%m%d-%H%M%S)
out="$ROOT/.build/cluster-bench/$stamp"
mkdir -p "$out"
work=$(mktemp -d /tmp/kv-bench.XXXXXX)
export BENCH_WORK="$work"

cleanup() {
  # Members run in their own sessions; cluster.py stops them, this catches what a crash
  # or a second Ctrl-C left behind. Only our own pids, checked by name before the kill.
  if [ -f "$work/pids" ]; then
    while read -r pid; do
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qE '^[^ ]*(kv-node|etcd) '; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    done < "$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
if [ "$build" = 1 ]; then
  echo "building kv-node (release)..." >&2
  swift build -c release --product kv-node >&2
fi
kv_bin="$(swift build -c release --show-bin-path)/kv-node"
[ -x "$kv_bin" ] || { echo "no kv-node binary at $kv_bin (drop --no-build)" >&2; exit 1; }

results="$out/results.jsonl"
py() { python3 "$HERE/cluster.py" "$@" --kv-bin "$kv_bin" --work "$work" --results "$results"; }

# The machine, and the disk's floor: how many small synchronous writes per second it takes.
dd_seconds=$(dd if=/dev/zero of="$work/ddtest" bs=4k count=300 oflag=dsync 2>&1 | tail -1 | awk -F', ' '{print $3}' | awk '{print $1}')
rm -f "$work/ddtest"
dd_rate=$(awk -v s="$dd_seconds" 'BEGIN { printf "%.0f", 300 / s }')
dev=$(findmnt -no SOURCE --target "$work")
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), \
/tmp on $dev ($(findmnt -no FSTYPE --target "$work"), rotational=$(cat /sys/block/"$(basename "$dev")"/queue/rotational 2>/dev/null || echo '?')); \
disk floor $dd_rate synchronous 4 KiB writes/s (dd oflag=dsync); $(etcd --version | head -1); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); \
$(swift --version 2>&1 | head -1)"
python3 -c 'import json,sys; print(json.dumps({"kind":"machine","text":sys.argv[1]}))' "$machine" > "$results"
echo "$machine" >&2
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

IFS=, read -ra wanted <<< "$phases"
for phase in "${wanted[@]}"; do
  echo "== $phase" >&2
  case "$phase" in
    throughput) py throughput --conns "$conns" --duration "$duration" --warmup "$warmup" "${extra[@]}" ;;
    failover) py failover --rounds "$rounds" ;;
    footprint) py footprint --keys "$keys" --restarts "$restarts" ;;
    profile) py profile --out "$out" --seconds "$(( duration < 10 ? duration : 10 ))" ;;
    partition) py partition --rounds "$rounds" "${extra_partition[@]}" ;;
    watch-fanout) py watch-fanout "${extra_watch[@]}" ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done

python3 "$HERE/cluster.py" report --results "$results" | tee "$out/report.md"
echo >&2
echo "results: $out (load after the run: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
