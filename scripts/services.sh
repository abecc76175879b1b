#!/usr/bin/env bash
# Starts the services the tests use:
# - PostgreSQL on 127.0.0.1:5432, user postgres, trust authentication from 127.0.0.1 (tests
#   create and drop their own databases);
# - a one-node Slurm cluster on localhost (munged, slurmctld, slurmd) for tests/test_slurm.py.
# What is missing is installed (Debian/Ubuntu, as root or with password-less sudo) and, being
# fresh test servers, set up for the tests: PostgreSQL trusts local connections, Slurm gets a
# one-node slurm.conf. An existing server's settings are never changed (a slurm.conf this
# script did not write is left as it is). No systemd: the daemons are started directly.
# Best effort: when it cannot, it says why and exits 0; the tests that need a service then
# skip with that reason (or fail, with $RNNSTUDY_REQUIRE_SERVICES). Fast when all is up.
set -uo pipefail

say() { echo "services: $*"; }

sudo=""
root_or_skip() {  # $1: what needs root
  [ "$(id -u)" -eq 0 ] && return 0
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; return 0; fi
  say "$1 is not running and starting it needs root (or password-less sudo); skipping"
  return 1
}

apt_install() {  # $1: what, then the Debian packages
  local what=$1; shift
  say "installing $what"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null; }; then
    say "could not install $what with apt-get; skipping"; return 1
  fi
}

# --- PostgreSQL ----------------------------------------------------------------------------

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

postgres() {
  if pg_ready; then say "PostgreSQL is up on 127.0.0.1:5432"; return; fi
  root_or_skip PostgreSQL || return
  local fresh="" version hba
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install PostgreSQL postgresql || return
    fresh=1
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then say "no PostgreSQL cluster under /etc/postgresql; skipping"; return; fi
  if [ -n "$fresh" ]; then  # a server installed just now for the tests: trust local connections
    hba=/etc/postgresql/$version/main/pg_hba.conf
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | $sudo tee "$hba.rnnstudy" >/dev/null
    $sudo sh -c "cat '$hba' >> '$hba.rnnstudy' && mv '$hba.rnnstudy' '$hba'"
  fi
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  if pg_ready; then say "PostgreSQL $version started on 127.0.0.1:5432"; else say "PostgreSQL $version did not start; skipping"; fi
}

# --- Slurm ---------------------------------------------------------------------------------

SLURM_CONF=/etc/slurm/slurm.conf
SLURM_MARK="# written by rnnstudy's scripts/services.sh"
SLURM_LOGS=/var/log/slurm

slurm_idle() { [ "$(timeout 10 sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; }
running() { [ -s "$1" ] && [ -d "/proc/$(cat "$1")" ]; }  # $1: a pid file
ours() { [ -e "$SLURM_CONF" ] && grep -qF "$SLURM_MARK" "$SLURM_CONF"; }
# slurmctld calls a node idle for minutes after its slurmd is gone: ours are looked at too
slurm_up() { slurm_idle && { ! ours || { running /run/slurmctld.pid && running /run/slurmd.pid; }; }; }

# A one-node cluster for tests: root runs the jobs, no cgroups (a container has no systemd
# to delegate them), so processes are tracked by their parent ids.
slurm_conf() {
  local node
  node=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/')
  case $node in NodeName=localhost*CPUs=*RealMemory=*) ;; *) return 1 ;; esac
  cat <<EOF
$SLURM_MARK: a one-node test cluster on localhost
ClusterName=rnnstudy
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=30
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$SLURM_LOGS/slurmctld.log
SlurmdLogFile=$SLURM_LOGS/slurmd.log
$node State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

slurm_failed() {  # $1: why; the daemons' last log lines follow
  say "Slurm: $1; skipping"
  local log
  for log in /var/log/munge/munged.log "$SLURM_LOGS/slurmctld.log" "$SLURM_LOGS/slurmd.log"; do
    [ -r "$log" ] && $sudo tail -n 3 "$log" | sed "s|^|services:   $(basename "$log"): |"
  done
}

slurm() {
  if slurm_up; then say "Slurm is up: node localhost idle"; return; fi
  root_or_skip Slurm || return
  if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    apt_install "Slurm and MUNGE" slurm-wlm munge || return
  fi
  if [ -e "$SLURM_CONF" ] && ! ours; then
    say "Slurm is not running and $SLURM_CONF is not this script's; leaving it alone; skipping"
    return
  fi
  local conf
  if ! conf=$(slurm_conf); then slurm_failed "slurmd -C did not describe this machine"; return; fi
  printf '%s\n' "$conf" | $sudo tee "$SLURM_CONF" >/dev/null
  $sudo mkdir -p /var/lib/slurm/slurmctld /var/spool/slurmd "$SLURM_LOGS" /run/munge
  $sudo chown munge:munge /run/munge
  [ -s /etc/munge/munge.key ] || $sudo runuser -u munge -- mungekey --create
  if ! munge -n </dev/null >/dev/null 2>&1; then
    $sudo runuser -u munge -- munged || { slurm_failed "munged did not start"; return; }
  fi
  running /run/slurmctld.pid || $sudo slurmctld || { slurm_failed "slurmctld did not start"; return; }
  running /run/slurmd.pid || $sudo slurmd -N localhost || { slurm_failed "slurmd did not start"; return; }
  for _ in $(seq 1 30); do slurm_up && break; sleep 1; done
  if ! slurm_up; then  # a node left down by an earlier run
    $sudo scontrol update nodename=localhost state=resume 2>/dev/null
    for _ in $(seq 1 10); do slurm_up && break; sleep 1; done
  fi
  if slurm_up; then say "Slurm started: node localhost idle"; else slurm_failed "node localhost is not idle"; fi
}

postgres
slurm
exit 0
