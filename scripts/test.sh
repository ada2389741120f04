#!/usr/bin/env bash
# The README's test command: every test of the workspace.
#
# As root it first installs what the tests need and this machine lacks, and says what:
#   iproute2                      (ip, tc, bridge: the emulated cluster's network namespaces)
#   openssh-server openssh-client (the ssh launcher's test runs sshd in two namespaces)
#   slurmctld slurmd slurm-client munge (the Slurm test starts a one-host Slurm)
#   chromium-headless-shell       (report.html is loaded in a real browser)
#   kubernetes-validate, from PyPI (the Kubernetes manifests are checked against its schemas)
# Without root it installs nothing: the tests that need any of these say in one line each why
# they did not run, and the others run. With COLLBENCH_REQUIRE_ALL_TESTS=1 (CI) such a test
# fails instead.
#
# Arguments go to cargo test (e.g. scripts/test.sh -p topologies).
set -euo pipefail
cd "$(dirname "$0")/.."

install_missing() {
  local missing=()
  command -v ip >/dev/null && command -v tc >/dev/null && command -v bridge >/dev/null \
    || missing+=(iproute2)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v srun >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null \
    || missing+=(chromium-headless-shell)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing with apt-get: ${missing[*]}"
    # The packages must not start their daemons: the tests start (and stop) their own.
    local made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      made_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  fi
  if ! command -v kubernetes-validate >/dev/null; then
    echo "test.sh: installing with pip: kubernetes-validate"
    python3 -m pip install -q kubernetes-validate
  fi
}

if [ "$(id -u)" = 0 ]; then
  install_missing
else
  echo "test.sh: not root, so nothing is installed; tests that need root, sshd, Slurm," \
    "Chromium or kubernetes-validate say so in one line each and do not run"
fi
exec cargo test --workspace --locked "$@"
