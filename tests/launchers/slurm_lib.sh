# slurm_lib.sh - a private Slurm on this machine for the launcher tests: its own munged (key and
# socket in the test's temporary dir), slurm.conf, slurmctld and one slurmd per virtual node, on
# free loopback ports. Source it after tests/lib/common.sh and t_init.
#   sl_start NNODES   start it and wait until every node is idle; returns 1 (with SL_WHY set)
#                     when the packages are missing or the daemons cannot start here
#   sl_stop           cancel our jobs, stop the daemons, kill their leftovers (also in the trap)
# Everything is under $T_TMP/slurm; SLURM_CONF is exported for srun/sbatch/sinfo.

SL_DIR=
SL_PIDS=()
SL_NAMES=()    # the program of each SL_PIDS entry
SL_WHY=

sl_log_tail() {
    local f
    for f in "$SL_DIR"/log/*; do
        [[ -s $f ]] || continue
        echo "--- $f (last lines)"
        tail -5 "$f"
    done >&2
}

# Free TCP ports on loopback (bound and released: another program could take one in between,
# then slurmctld/slurmd fail to start and sl_start says so).
sl_free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# sl_wait SECONDS DESC CMD...: poll CMD every 0.2 s until it succeeds (0); 1 on timeout or
# when CMD returns 2 (give up: CMD set SL_WHY).
sl_wait() {
    local lim=$1 desc=$2 end rc
    shift 2
    end=$((SECONDS + lim))
    while ((SECONDS < end)); do
        rc=0
        "$@" >/dev/null 2>&1 || rc=$?
        ((rc == 0)) && return 0
        ((rc == 2)) && return 1
        sleep 0.2
    done
    SL_WHY="timed out after $lim s waiting for $desc"
    return 1
}

sl_nodes_idle() {
    local out
    out=$(timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
    [[ $(grep -c ' idle$' <<<"$out") == "$1" ]]
}

# sl_private_tmp_slurmd I (SL_PRIVATE_TMP=1): slurmd of node ebtI in a mount namespace of its own
# whose /tmp is SL_DIR/tmpI, with the test's directory bound back at its path, so the nodes'
# steps do not share /tmp. Two slurmd on one host otherwise collide on node-local names there
# (the PMIx plugin's /tmp/spmix_appdir_<uid>_<job>.<step>: "File exists", the step fails).
sl_private_tmp_slurmd() {
    local t=$SL_DIR/tmp$1
    mkdir -p "$t" && chmod 1777 "$t"
    exec unshare -m --propagation private bash -c 'set -e
        if [[ $1 == /tmp/* ]]; then mkdir -p "$2/${1#/tmp/}"; mount --bind "$1" "$2/${1#/tmp/}"; fi
        mount --rbind "$2" /tmp
        exec slurmd -D -N "ebt$3" -f "$SLURM_CONF"' _ "$T_TMP" "$t" "$1" >"$SL_DIR/log/slurmd$1.out" 2>&1
}

sl_start() {
    local n=$1 i cmd
    for cmd in munged slurmctld slurmd srun sbatch sinfo scancel; do
        command -v "$cmd" >/dev/null || { SL_WHY="$cmd not installed (apt-get install slurm-wlm munge)"; return 1; }
    done
    SL_DIR=$T_TMP/slurm
    mkdir -p "$SL_DIR"/{munge,state,spool,log,run}
    chmod 0711 "$SL_DIR/munge"
    # munge: a private daemon with its own key and socket (the system one may not run here)
    dd if=/dev/urandom of="$SL_DIR/munge/key" bs=1024 count=1 status=none
    chmod 0400 "$SL_DIR/munge/key"
    munged -F --force --socket="$SL_DIR/munge/sock" --key-file="$SL_DIR/munge/key" \
        --pid-file="$SL_DIR/munge/pid" --seed-file="$SL_DIR/munge/seed" \
        --log-file="$SL_DIR/log/munged.log" >"$SL_DIR/log/munged.out" 2>&1 &
    SL_PIDS+=($!)
    SL_NAMES+=(munged)
    sl_wait 10 "munged's socket" test -S "$SL_DIR/munge/sock" || { sl_log_tail; return 1; }
    sl_wait 5 "a munge credential" bash -c "munge -S '$SL_DIR/munge/sock' -n | unmunge -S '$SL_DIR/munge/sock'" ||
        { SL_WHY="munged does not answer: $(cat "$SL_DIR/log/munged.out")"; return 1; }

    local ports cpus
    ports=($(sl_free_ports $((n + 1))))
    cpus=$(nproc)
    {
        echo "# slurm.conf of test $T_NAME (private single-machine Slurm)"
        echo "ClusterName=ebttest"
        echo "SlurmctldHost=localhost"
        echo "SlurmctldPort=${ports[0]}"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "AuthType=auth/munge"
        echo "AuthInfo=socket=$SL_DIR/munge/sock"
        echo "CredType=cred/munge"
        echo "StateSaveLocation=$SL_DIR/state"
        echo "SlurmdSpoolDir=$SL_DIR/spool/%n"
        echo "SlurmctldPidFile=$SL_DIR/run/slurmctld.pid"
        echo "SlurmdPidFile=$SL_DIR/run/slurmd.%n.pid"
        echo "SlurmctldLogFile=$SL_DIR/log/slurmctld.log"
        echo "SlurmdLogFile=$SL_DIR/log/slurmd.%n.log"
        echo "PlugStackConfig=$SL_DIR/plugstack.conf"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_CPU"
        echo "SchedulerType=sched/builtin"
        echo "MpiDefault=none"
        echo "SwitchType=switch/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "AccountingStorageType=accounting_storage/none"
        echo "ReturnToService=2"
        echo "SlurmdTimeout=30"
        echo "InactiveLimit=0"
        echo "KillWait=2"
        for ((i = 0; i < n; i++)); do
            echo "NodeName=ebt$i NodeHostname=$(hostname) NodeAddr=127.0.0.1 Port=${ports[$((i + 1))]} CPUs=$cpus State=UNKNOWN"
        done
        echo "PartitionName=ebt Nodes=ALL Default=YES MaxTime=10 State=UP OverSubscribe=YES"
    } >"$SL_DIR/slurm.conf"
    : >"$SL_DIR/plugstack.conf"
    export SLURM_CONF=$SL_DIR/slurm.conf

    slurmctld -D -i -f "$SLURM_CONF" >"$SL_DIR/log/slurmctld.out" 2>&1 &
    SL_PIDS+=($!)
    SL_NAMES+=(slurmctld)
    for ((i = 0; i < n; i++)); do
        if [[ ${SL_PRIVATE_TMP:-0} == 1 ]]; then sl_private_tmp_slurmd "$i" &
        else slurmd -D -N "ebt$i" -f "$SLURM_CONF" >"$SL_DIR/log/slurmd$i.out" 2>&1 & fi
        SL_PIDS+=($!)
        SL_NAMES+=("slurmd -N ebt$i")
    done
    if ! sl_wait 20 "$n idle node(s) in sinfo" sl_up "$n"; then
        SL_WHY="$SL_WHY; sinfo: $(timeout 5 sinfo -h -N -o '%N %t %E' 2>&1 | tr '\n' ' ')"
        sl_log_tail
        return 1
    fi
    return 0
}

# sl_up N: N nodes idle; a daemon that exited ends the wait at once (exit status 2, SL_WHY).
sl_up() {
    local i
    for i in "${!SL_PIDS[@]}"; do
        if ! kill -0 "${SL_PIDS[$i]}" 2>/dev/null; then
            SL_WHY="${SL_NAMES[$i]} exited (see its log)"
            return 2
        fi
    done
    sl_nodes_idle "$1"
}

# Processes of this test's Slurm that are not our direct children: slurmstepd (daemonized by
# slurmd) and what it ran; found by SLURM_CONF=<our conf> in their environment.
sl_our_pids() {
    local p
    [[ -n $SL_DIR ]] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        ((p == $$ || p == BASHPID)) && continue
        tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$SL_DIR/slurm.conf" && echo "$p"
    done
    return 0
}

sl_stop() {
    [[ -n $SL_DIR ]] || return 0
    local p
    timeout 5 scancel --full --quiet --partition=ebt 2>/dev/null || true
    for p in "${SL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do
        local alive=0
        for p in "${SL_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive == 0)) && break
        sleep 0.1
    done
    for p in "${SL_PIDS[@]}" $(sl_our_pids); do kill -9 "$p" 2>/dev/null || true; done
    SL_PIDS=()
    SL_NAMES=()
    SL_DIR=
}

# sl_submit SCRIPT OUT: submit SCRIPT (output to OUT); prints the job id.
sl_submit() { timeout 10 sbatch --parsable -o "$2" "$1"; }

# sl_job_wait ID LIMIT: wait at most LIMIT s for job ID's end (polled every 0.2 s: `sbatch
# --wait` polls every few seconds). Status: the job's exit code (1 if it has none), 124 when it
# did not end in time (then cancelled); SL_WHY says what happened.
sl_job_wait() {
    local id=$1 lim=$2 state end code
    end=$((SECONDS + lim))
    while ((SECONDS < end)); do
        state=$(timeout 5 scontrol show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*\|ExitCode=[0-9]*:[0-9]*' | tr '\n' ' ') || state=
        case $state in
        # (SIGNALING: a passing state while Slurm delivers a signal, e.g. --signal before the limit)
        *JobState=PENDING* | *JobState=RUNNING* | *JobState=CONFIGURING* | *JobState=COMPLETING* | \
            *JobState=SIGNALING* | *JobState=STAGE_OUT* | '') sleep 0.2 ;;
        *JobState=COMPLETED*) return 0 ;;
        *)
            SL_WHY="job $id: $state"
            code=${state##*ExitCode=}
            code=${code%%:*}
            ((code > 0)) && return "$code"
            return 1
            ;;
        esac
    done
    timeout 5 scancel "$id" 2>/dev/null || true
    SL_WHY="job $id did not end within $lim s"
    return 124
}

# sl_batch SCRIPT OUT LIMIT: submit and wait (sl_job_wait).
sl_batch() {
    local id
    id=$(sl_submit "$1" "$2") || { SL_WHY="sbatch failed"; return 1; }
    sl_job_wait "$id" "$3"
}
