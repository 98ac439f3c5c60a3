#!/usr/bin/env bash
# bench/peers.sh - run the peer RPC baselines (ONC RPC, gRPC, Cap'n Proto,
# RPyC, GDBus, raw sockets) in the same run as shade, and print shade's
# ratio to each.
#
# The peers live outside this tree, in ../shared/bench/peers (or
# $PEERS_DIR); when that folder is absent this script says so and exits 0:
# shade's own harness (`make bench`) never needs it.  Nothing from that
# folder is copied here; its run-peers.sh is run as is, with shade's
# server and client registered through its PEERS_EXTRA hook:
#
#   shade/<t>/sync            typed call (the typed-call API, as stubs do)
#   shade.dynamic/<t>/sync    shade_invoke by name, shape cached
#   shade/<t>/pipelined       DEPTH typed requests in flight
#                             (shade_request_begin + shade_request_send)
#   shade.dynamic/<t>/pipelined  DEPTH shade_invoke_async futures in flight
#
# for t in unix and tcp, all interleaved with the peers' own runs (run it
# under `taskset -c 0` for the same-CPU figures of doc/performance.md).  Knobs
# of run-peers.sh (ROUNDS, N, WARM, DEPTH, ONLY, PORT_BASE, ...) pass
# through.  Output: run-peers.sh's table, then one line per peer benchmark
#
#   peers <peer-id> <peer-us> us  shade <shade-id> <shade-us> us  ratio <r>
#
# where r = shade's time per call / the peer's (below 1: shade is faster;
# pipelined modes compare amortised time per call).  Exit status: that of
# run-peers.sh (3 when some peer failed to build or run).
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd -- "$HERE/.." && pwd)
BUILD=${BUILD:-build}

PEERS=${PEERS_DIR:-}
if [[ -z $PEERS ]]; then
    for d in "$TOP/../shared/bench/peers" /work/shared/bench/peers; do
        if [[ -x $d/run-peers.sh ]]; then PEERS=$(cd -- "$d" && pwd); break; fi
    done
fi
if [[ -z $PEERS || ! -x $PEERS/run-peers.sh ]]; then
    echo "peers.sh: no peers folder (../shared/bench/peers); nothing to compare" >&2
    exit 0
fi

make -C "$TOP" --no-print-directory -s bench-stubs >/dev/null 2>&1 ||
    rm -f "$TOP/$BUILD/bench/stubs.list"
make -C "$TOP" --no-print-directory -s bench-programs >&2
BIN=$TOP/$BUILD/bench
[[ -x $BIN/shade-bench && -x $BIN/shade-bench-server ]] ||
    { echo "peers.sh: $BIN/shade-bench* not built" >&2; exit 1; }

TMP=$(mktemp -d /tmp/shade-peers.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT

# Shade's entries for run-peers.sh (sourced by it).
cat > "$TMP/shade.sh" <<EOF
for t in unix tcp; do
    def_server "shade-\$t" "\$t" "$BIN/shade-bench-server" peer
    def_bench "shade/\$t/sync" "shade-\$t" sync - "$BIN/shade-bench" --peer-client typed
    def_bench "shade.dynamic/\$t/sync" "shade-\$t" sync - "$BIN/shade-bench" --peer-client dynamic
    def_bench "shade/\$t/pipelined" "shade-\$t" pipelined - "$BIN/shade-bench" --peer-client typed
    def_bench "shade.dynamic/\$t/pipelined" "shade-\$t" pipelined - "$BIN/shade-bench" --peer-client dynamic
done
EOF

rc=0
PEERS_EXTRA="$TMP/shade.sh" REF=${REF:-shade/unix/sync} \
    "$PEERS/run-peers.sh" | tee "$TMP/table.txt" || rc=$?

echo
echo "shade's time per call / each peer's, same run (below 1: shade is faster)"
awk '
    $1 ~ /^[A-Za-z0-9._-]+\/(unix|tcp)\/(sync|pipelined)$/ && $3 ~ /^[0-9.]+$/ && $3 > 0 {
        us[$1] = 1e6 / $3; ids[++n] = $1     # from calls/s: not rounded
    }
    END {
        for (i = 1; i <= n; i++) {
            id = ids[i]
            if (id ~ /^shade/) continue
            split(id, p, "/")
            s = "shade/" p[2] "/" p[3]
            if (!(s in us) || us[id] <= 0) continue
            printf "peers %-28s %9.3f us  shade %-28s %9.3f us  ratio %.2f\n",
                id, us[id], s, us[s], us[s] / us[id]
            if (("shade.dynamic/" p[2] "/" p[3]) in us) {
                d = "shade.dynamic/" p[2] "/" p[3]
                printf "peers %-28s %9.3f us  shade %-28s %9.3f us  ratio %.2f\n",
                    id, us[id], d, us[d], us[d] / us[id]
            }
        }
    }' "$TMP/table.txt"
exit "$rc"
