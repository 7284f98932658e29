#!/bin/bash
# pystorm.sh - an import storm of the real Python standard library on the PFS simulator: the
# stdlib (/usr/lib/python3.11, without site-packages) is copied into the simulator's backing store,
# then P /usr/bin/python3 processes with PYTHONHOME on the simulator import the same modules at
# once: natively (spread over N virtual nodes), under `ebt run`, and under `ebt run --input`.
# Prints MDS ops, MDS ENOENT answers and time to solution per run and the medians.
# usage: bench/pystorm.sh [--build DIR] [--procs P] [--nodes N] [--repeat R] [--work DIR]
set -euo pipefail
BUILD=build PROCS=8 NODES=4 REPEAT=3 WORK=
while (($#)); do
    case $1 in
    --build) BUILD=$2 ;;
    --procs) PROCS=$2 ;;
    --nodes) NODES=$2 ;;
    --repeat) REPEAT=$2 ;;
    --work) WORK=$2 ;;
    *) echo "usage: $0 [--build DIR] [--procs P] [--nodes N] [--repeat R] [--work DIR]" >&2; exit 2 ;;
    esac
    shift 2 || { echo "$0: $1 needs a value" >&2; exit 2; }
done
for v in "$PROCS" "$NODES" "$REPEAT"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "$0: '$v' is not a positive number" >&2; exit 2; }
done
BUILD=$(cd "$BUILD" && pwd)
STD=/usr/lib/python3.11
[[ -d $STD && -x /usr/bin/python3 ]] || { echo "$0: needs /usr/bin/python3 and $STD" >&2; exit 2; }
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/var/tmp}/ebt-pystorm.XXXXXX")}
BACK=$WORK/back MNT=$WORK/mnt
mkdir -p "$BACK" "$MNT"
SIM_OPTS=(--osts 16 --stripe-size 1M --stripe-count 1 --mds-threads 4 --oss-threads 4
    --mds-latency-us 200 --oss-latency-us 100 --ost-bw-mbs 200 --lock-penalty-us 1000)
"$BUILD/bin/pfs-sim-ctl" start --backing "$BACK" --mnt "$MNT" --nodes "$NODES" \
    --bin "$BUILD/bin/pfs-sim" "${SIM_OPTS[@]}" >&2
trap '"$BUILD/bin/pfs-sim-ctl" stop --mnt "$MNT" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
mkdir -p "$BACK/py/lib" "$BACK/out"
cp -a "$STD" "$BACK/py/lib/" # setup: straight into the backing store, not counted
rm -rf "$BACK/py/lib/python3.11/site-packages" "$BACK/py/lib/python3.11/dist-packages"
MODS="argparse ast asyncio base64 bisect bz2 calendar collections concurrent.futures configparser
contextlib copy csv ctypes dataclasses datetime decimal difflib email email.mime.text
email.parser enum fnmatch fractions functools getopt gettext glob gzip hashlib heapq hmac html
html.parser http.client http.cookies http.server imaplib importlib importlib.metadata inspect io
ipaddress itertools json logging logging.handlers lzma mailbox mimetypes multiprocessing
numbers operator optparse pathlib pickle pkgutil platform plistlib poplib pprint queue quopri
random re reprlib sched secrets selectors shelve shlex shutil signal smtplib socket
socketserver sqlite3 ssl stat statistics string struct subprocess tarfile tempfile textwrap
threading timeit tokenize tomllib trace traceback types typing unittest unittest.mock urllib.parse
urllib.request uuid warnings wave weakref xml.dom.minidom xml.etree.ElementTree xml.sax
xmlrpc.client zipfile zipimport zoneinfo"
export PYCODE="import importlib, sys
for m in sys.argv[1:]:
    importlib.import_module(m)
print(len(sys.modules))"
# P processes at once; process i uses node (i mod nodes) natively, node0 under EBT.
storm() {
    local spread=$1 pids=() i
    for ((i = 0; i < PROCS; i++)); do
        local node=$((spread ? i % NODES : 0))
        PYTHONHOME=$MNT/node$node/py PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -S -c "$PYCODE" $MODS \
            >"$WORK/out.$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
}
export -f storm
export MNT NODES PROCS MODS WORK
stat_of() { /usr/bin/python3 -c "import json; s=json.load(open('$MNT/node0/.pfs-sim/stats')); print(s['mds']['ops'], s['mds']['enoent'])"; }
printf 'mode rep mds_ops mds_enoent tts_s\n' >"$WORK/runs.txt"
for ((rep = 0; rep < REPEAT; rep++)); do
    for mode in native ebt ebt-input; do
        echo reset >"$MNT/node0/.pfs-sim/stats"
        t0=$(date +%s.%N)
        case $mode in
        native) bash -c 'storm 1' ;;
        ebt) "$BUILD/bin/ebt" run --pfs "$MNT/node0/out" -- bash -c 'storm 0' 2>/dev/null ;;
        ebt-input) "$BUILD/bin/ebt" run --pfs "$MNT/node0/out" --input "$MNT/node0/py" -- \
            bash -c 'storm 0' 2>/dev/null ;;
        esac
        t1=$(date +%s.%N)
        n=$(cat "$WORK/out.0")
        for ((i = 1; i < PROCS; i++)); do
            [[ $(cat "$WORK/out.$i") == "$n" ]] || { echo "$0: $mode: outputs differ" >&2; exit 1; }
        done
        [[ $n -gt 100 ]] || { echo "$0: $mode: only $n modules loaded" >&2; exit 1; }
        cp "$MNT/node0/.pfs-sim/stats" "$WORK/stats.$mode.$rep.json" # per op kind, kept
        printf '%s %d %s %.3f\n' "$mode" "$rep" "$(stat_of)" "$(echo "$t1 - $t0" | bc)" |
            tee -a "$WORK/runs.txt" >&2
    done
done
echo "modules in sys.modules per process: $n; $(echo $MODS | wc -w) imported by name; $PROCS processes"
for mode in native ebt ebt-input; do # the simulator's ops by kind, last repetition
    /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%s ops by kind (rep %s):" % (sys.argv[2], sys.argv[3]),
      " ".join("%s=%d" % kv for kv in sorted(d["ops"].items()) if kv[1]))' \
        "$WORK/stats.$mode.$((REPEAT - 1)).json" "$mode" "$((REPEAT - 1))"
done
/usr/bin/python3 - "$WORK/runs.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
med = {}
for mode in ("native", "ebt", "ebt-input"):
    rs = [r for r in rows if r[0] == mode]
    med[mode] = [statistics.median(float(r[i]) for r in rs) for i in (2, 3, 4)]
print("| mode | runs | MDS ops | MDS ENOENT | time-to-solution s | MDS ops native/mode | TTS native/mode |")
print("|---|---|---|---|---|---|---|")
n = med["native"]
for mode, (ops, en, tts) in med.items():
    r = "" if mode == "native" else "%.2fx | %.2fx" % (n[0] / ops, n[2] / tts)
    print("| %s | %d | %d | %d | %.3f | %s |" % (mode, len([x for x in rows if x[0] == mode]), ops, en, tts,
                                               r if r else " | "))
EOF
