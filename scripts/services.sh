#!/usr/bin/env bash
# Starts the services the tests use: PostgreSQL on 127.0.0.1:5432, user postgres, trust
# authentication from 127.0.0.1 (tests create and drop their own databases).
# When PostgreSQL is missing it is installed (Debian/Ubuntu, as root or with password-less
# sudo) and, being a fresh test server, set to trust local connections. An existing server's
# settings are never changed. Best effort: when it cannot, it says why and exits 0; the tests
# that need PostgreSQL then skip with that reason (or fail, with $RNNSTUDY_REQUIRE_SERVICES).
set -uo pipefail

say() { echo "services: $*"; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

if ready; then say "PostgreSQL is up on 127.0.0.1:5432"; exit 0; fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    say "PostgreSQL is not running and starting it needs root (or password-less sudo); skipping"; exit 0
  fi
fi

fresh=""
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  say "installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql >/dev/null; }; then
    say "could not install PostgreSQL with apt-get; skipping"; exit 0
  fi
  fresh=1
fi

version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then say "no PostgreSQL cluster under /etc/postgresql; skipping"; exit 0; fi
if [ -n "$fresh" ]; then  # a server installed just now for the tests: trust local connections
  hba=/etc/postgresql/$version/main/pg_hba.conf
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | $sudo tee "$hba.rnnstudy" >/dev/null
  $sudo sh -c "cat '$hba' >> '$hba.rnnstudy' && mv '$hba.rnnstudy' '$hba'"
fi
$sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do ready && break; sleep 1; done
if ready; then say "PostgreSQL $version started on 127.0.0.1:5432"; else say "PostgreSQL $version did not start; skipping"; fi
exit 0
