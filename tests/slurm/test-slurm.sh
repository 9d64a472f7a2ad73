#!/bin/sh
# tests/slurm/test-slurm.sh -- `make test-slurm`: a sweep run as a Slurm job
# array on a one-node cluster started here, merged, and compared byte for
# byte with the same sweep run serially on this machine.
#
# Starts munged, slurmctld and slurmd on localhost from a minimal
# configuration written under $BUILD/slurm (nothing under /etc is used or
# changed), and stops exactly those daemons at the end.  Needs root (the
# daemons run as root here) and Debian's slurm-wlm and munge, which
# `make test-slurm` installs.  Exit status 0 when the tables are equal.
set -eu

BUILD=${BUILD:-build}
case $BUILD in ''|/*|*..*) echo "test-slurm: BUILD must be a directory below the tree" >&2; exit 2;; esac
POUWSIM=${POUWSIM:-$BUILD/pouwsim}
SWEEP=${SWEEP:-tests/data/sweep/grid.yaml}
TASKS=${TASKS:-4}
ROOT=$(pwd)
S=$ROOT/$BUILD/slurm
PORT_CTLD=${PORT_CTLD:-16817}
PORT_D=${PORT_D:-16818}
HOST=$(hostname -s)
CPUS=$(nproc)

say() { printf 'test-slurm: %s\n' "$*"; }

# A previous run's daemons (same state directory) are ours to stop.
stop_daemons() {
    for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munged.pid"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
        fi
        rm -f "$f"
    done
}
trap stop_daemons EXIT INT TERM

stop_daemons
rm -rf "$S"
mkdir -p "$S/state" "$S/spool" "$S/munge"
chmod 0700 "$S/munge"

# ---- munge: a fresh key, its own socket ----
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 0400 "$S/munge/munge.key"
SOCK=$S/munge/munge.socket
munged --force --key-file="$S/munge/munge.key" --socket="$SOCK" \
       --pid-file="$S/munged.pid" --log-file="$S/munged.log" --seed-file="$S/munge/seed"
n=0; while [ ! -S "$SOCK" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
munge --socket="$SOCK" -n | unmunge --socket="$SOCK" >/dev/null
say "munged up (socket $SOCK)"

# ---- slurm.conf: one node, this machine, its CPUs ----
cat > "$S/slurm.conf" <<EOF
ClusterName=pouwsim-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT_CTLD
SlurmdPort=$PORT_D
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# slurmd initialises a cgroup plugin even when nothing uses it (proctrack
# and task plugins above do not): v1 where the machine mounts it, else v2.
if [ -d /sys/fs/cgroup/cpuset ]; then cg=cgroup/v1; else cg=cgroup/v2; fi
printf 'CgroupPlugin=%s\nCgroupMountpoint=/sys/fs/cgroup\n' "$cg" > "$S/cgroup.conf"
export SLURM_CONF="$S/slurm.conf"

daemon_failed() {
    say "$1 did not start; its log:"
    tail -20 "$2" >&2 || true
    exit 1
}
slurmctld -f "$SLURM_CONF" || daemon_failed slurmctld "$S/slurmctld.log"
slurmd -f "$SLURM_CONF" || daemon_failed slurmd "$S/slurmd.log"
n=0
until sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; do
    n=$((n + 1))
    if [ $n -gt 150 ]; then
        say "the node did not come up; logs:"
        tail -20 "$S/slurmctld.log" "$S/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 0.2
done
say "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"

# ---- the sweep as a job array ----
"$POUWSIM" sweep "$SWEEP" --out "$S/array" --print-sbatch --array "$TASKS" > "$S/job.sh"
say "job script:"
sed 's/^/    /' "$S/job.sh"
t0=$(date +%s)
job=$(sbatch --parsable --wait "$S/job.sh") || { say "sbatch failed"; tail -20 "$S/slurmctld.log" >&2; exit 1; }
t1=$(date +%s)
say "job array $job finished in $((t1 - t0)) s"
sacct_line=$(squeue -h -j "$job" 2>/dev/null | wc -l)
[ "$sacct_line" -eq 0 ] || { say "job still queued"; exit 1; }
for f in "$S"/array/slurm/*.out; do
    say "$(basename "$f"):"
    sed 's/^/    /' "$f"
done
"$POUWSIM" merge "$S/array"

# ---- the same sweep on this machine, serially ----
"$POUWSIM" sweep "$SWEEP" --out "$S/serial" --jobs 1 --quiet
"$POUWSIM" merge "$S/serial"

fail=0
for f in merged.csv merged-points.csv merged.h5; do
    if cmp -s "$S/array/$f" "$S/serial/$f"; then
        say "$f: job array and serial sweep are identical ($(wc -c < "$S/serial/$f") bytes)"
    else
        say "$f: DIFFERS between the job array and the serial sweep"
        fail=1
    fi
done
[ $fail -eq 0 ] && say "PASS" || say "FAIL"
exit $fail
