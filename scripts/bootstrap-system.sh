#!/usr/bin/env bash
# Install the Debian packages the product and its tests need. Idempotent: asks apt only for
# what is missing. Runs as root (CI) or through sudo.
set -euo pipefail

PACKAGES=(
  gcc pkg-config libldap2-dev libsasl2-dev   # python-ldap builds against these
  slapd ldap-utils                           # the throwaway directory of the tests
  softhsm2 opensc libnss3-tools              # seal keys on a PKCS#11 token
  poppler-utils qpdf                         # pdfsig / pdftoppm / qpdf --check
  fonts-wqy-zenhei                           # CJK font for pages and records
  fonts-hanazono                             # TrueType fallback for rare characters (CJK Ext. A/B)
  chromium chromium-driver                   # browser tests (Playwright drives Debian's Chromium)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done

need_pg=0
if ! command -v pg_isready >/dev/null 2>&1 || ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ -z "${IA_TEST_DATABASE_URL:-}" ]; then
    need_pg=1
    dpkg -s postgresql >/dev/null 2>&1 || missing+=(postgresql)
  fi
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  # slapd's maintainer scripts must not ask questions nor start a system-wide server
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$need_pg" -eq 1 ]; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    echo "bootstrap: starting PostgreSQL $version"
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      # a machine of our own for tests: loopback connections need no password
      $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || \
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    me=$(id -un)
    $SUDO -u postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='$me'" | grep -q 1 \
      || $SUDO -u postgres psql -qc "CREATE ROLE \"$me\" SUPERUSER LOGIN"
  fi
fi
