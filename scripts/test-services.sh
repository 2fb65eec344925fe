#!/usr/bin/env bash
# Make sure the real services the tests use are here: the OpenSSH server, Prometheus and its Alertmanager,
# Chromium binaries (the tests start their own of each on loopback) and PostgreSQL on 127.0.0.1:5432.
# Installs/starts them when root; apt-get runs only when a package is missing.
set -euo pipefail

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)  # verify steps ask a real Prometheus
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the web cockpit's browser tests (Playwright drives it)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} for the tests that start their own servers"
    log=$(mktemp)  # apt's and the packages' chatter is shown only when installing fails
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
        >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      exit 1
    fi
    rm -f "$log"
  else
    echo "warning: missing ${missing[*]} (apt-get install ${missing[*]}); their tests will be skipped" >&2
  fi
fi

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; PostgreSQL tests will be skipped" >&2
