#!/bin/sh
# hypercsc under srun: a one-node SLURM (munged, slurmctld, slurmd) started
# here without systemd, then synth -> noise -> eval launched by srun at 2
# tasks, and the files compared with the same commands under mpiexec.
# Skipped (77) where SLURM and munge are not installed (CI does not install
# them) or when not root.  Run at one rank count only (np1 stub).
. "$top_srcdir/tests/common.sh"
for p in slurmctld slurmd munged srun sbatch; do
  command -v $p >/dev/null 2>&1 || { echo "SKIP: $p not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: starting SLURM daemons needs root"; exit 77; }
[ -r /etc/munge/munge.key ] || { echo "SKIP: no /etc/munge/munge.key"; exit 77; }

S=$T/slurm
mkdir -p "$S/state" "$S/spool" "$S/log" /run/munge
chown munge:munge /run/munge
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  if [ "${started_munge:-0}" = 1 ] && [ -r /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null; fi
}
trap cleanup EXIT
# munged: its own pid and socket, as the munge user.
started_munge=0
if [ ! -S /run/munge/munge.socket.2 ]; then
  runuser -u munge -- /usr/sbin/munged --force 2>"$S/log/munged.err" ||
    { echo "SKIP: munged does not start: $(cat "$S/log/munged.err")"; exit 77; }
  started_munge=1
fi
host=$(hostname -s)
cpus=$(nproc)
cat > "$S/slurm.conf" <<CONF
ClusterName=hcsctest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldPort=26817
SlurmdPort=26818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=10 State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$S/slurm.conf
/usr/sbin/slurmctld -D -f "$SLURM_CONF" >"$S/log/ctld.out" 2>&1 &
pids="$pids $!"
/usr/sbin/slurmd -D -f "$SLURM_CONF" >"$S/log/d.out" 2>&1 &
pids="$pids $!"
up=0
for i in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -q -E 'idle|mix|alloc'; then up=1; break; fi
  sleep 1
done
if [ $up -ne 1 ]; then
  echo "SKIP: the local SLURM did not come up:"; tail -n 5 "$S/log/slurmctld.log" "$S/log/slurmd.log" 2>/dev/null
  exit 77
fi
SR="srun -n 2 --overcommit --mpi=pmix -t 5"
$SR "$HCSC" synth -q -o "$T/s.bsq" --size 40x30x5 --seed 3 || fail "srun synth"
$SR "$HCSC" noise -q "$T/s.bsq" "$T/n.bsq" --model noniid --seed 4 || fail "srun noise"
$SR "$HCSC" eval --json "$T/s.bsq" "$T/n.bsq" > "$T/e_srun.json" || fail "srun eval"
run synth -q -o "$T/s2.bsq" --size 40x30x5 --seed 3 || fail "mpiexec synth"
run noise -q "$T/s2.bsq" "$T/n2.bsq" --model noniid --seed 4 || fail "mpiexec noise"
cmp -s "$T/s.bsq" "$T/s2.bsq" || fail "synth under srun differs from mpiexec"
cmp -s "$T/n.bsq" "$T/n2.bsq" || fail "noise under srun differs from mpiexec"
grep -q '"mpsnr"' "$T/e_srun.json" || fail "eval under srun printed no metrics"
# A failing command under srun: one error line, non-zero exit.
if $SR "$HCSC" info "$T/missing.tif" 2>"$T/err.txt"; then fail "srun: missing file succeeded"; fi
grep -q "missing.tif" "$T/err.txt" || fail "srun: error does not name the file: $(cat "$T/err.txt")"
# The job template runs as a batch job.
OUT=$T/job sbatch --wait -n 2 --overcommit -o "$T/job.out" "$top_srcdir/jobs/demo.sbatch" 64x48x6 >/dev/null ||
  fail "sbatch jobs/demo.sbatch: $(tail -n 5 "$T/job.out")"
grep -q '"mpsnr"' "$T/job.out" 2>/dev/null || fail "demo job printed no metrics: $(tail -n 5 "$T/job.out")"
finish
