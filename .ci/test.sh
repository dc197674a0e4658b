#!/usr/bin/env bash
# Installs every test prerequisite and runs every check xb has. This is the
# README's second set-up command; .ci/run calls it and nothing else.
#
# As root (CI, or `sudo -E bash .ci/test.sh`): installs Debian packages, creates
# the unprivileged test users, runs the tests as root and again as a user.
# As a normal user: skips set-up and runs everything as that user.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

step() { printf '\n==> %s\n' "$*"; }
TEST_USER=xbtest          # has /etc/subuid and /etc/subgid ranges
TEST_USER_NOSUB=xbnosub   # has none
APT_PACKAGES=(uidmap util-linux passwd docker-registry skopeo umoci busybox-static)

if [ "$(id -u)" = 0 ]; then
  step "installing Debian packages: ${APT_PACKAGES[*]}"
  missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  step "creating test users $TEST_USER (with subordinate ids) and $TEST_USER_NOSUB (without)"
  id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
  id "$TEST_USER_NOSUB" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER_NOSUB"
  grep -q "^$TEST_USER:" /etc/subuid 2>/dev/null || usermod --add-subuids 200000-265535 "$TEST_USER"
  # useradd may hand out ranges on its own; this user must have none.
  sed -i "/^$TEST_USER_NOSUB:/d" /etc/subuid /etc/subgid
  grep -q "^$TEST_USER:" /etc/subgid 2>/dev/null || usermod --add-subgids 200000-265535 "$TEST_USER"
fi

export XB_TEST_STRICT=${XB_TEST_STRICT:-${CI:+1}}

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "doctests"
cargo test --workspace --doc --locked --quiet

if cargo nextest --version >/dev/null 2>&1; then
  step "tests as $(id -un) (nextest)"
  cargo nextest run --workspace --locked --no-fail-fast -E 'not test(/conformance/)'
  step "conformance corpora"
  cargo nextest run --workspace --locked --no-capture -E 'test(/conformance/)' 2>&1 | tee /tmp/xb-conformance.log
else
  step "tests as $(id -un) (cargo test; install cargo-nextest for the faster runner)"
  cargo test --workspace --locked --no-fail-fast -- --skip conformance
  step "conformance corpora"
  cargo test --workspace --locked --lib conformance -- --nocapture 2>&1 | tee /tmp/xb-conformance.log
fi
grep -E '^buildkit-parser: ([0-9]+)/\1 passed' /tmp/xb-conformance.log
grep -E '^buildkit-shell: ([0-9]+)/\1 passed' /tmp/xb-conformance.log

step "static release build"
cargo build --release --locked
binary=target/x86_64-unknown-linux-gnu/release/xb
# ldd exits 1 for a static binary; what it prints is the check.
linkage=$(ldd "$binary" 2>&1 || true)
echo "ldd: $linkage"
grep -q 'not a dynamic executable' <<<"$linkage"
"$binary" version

step "bench smoke (one round, the smallest case, xb only)"
python3 bench/run.py --smoke --xb "$binary"

step "README command 1: a sample build from testdata"
sample_dir=$(mktemp -d)
"$binary" build --root "$sample_dir/store" --progress=plain -t xb-sample:latest -o "type=oci,dest=$sample_dir/sample.tar" testdata/sample
skopeo inspect "oci-archive:$sample_dir/sample.tar" >/dev/null
rm -rf "$sample_dir"

if [ "$(id -u)" = 0 ]; then
  # The toolchain lives in root's home, so the user runs the compiled test
  # binary against copies of xb and testdata it can read.
  integration=$(cargo test --test integration --locked --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "integration" and m.get("executable"):
        print(m["executable"])')
  shared=$(mktemp -d /tmp/xb-user-tests.XXXXXX)
  cp "$integration" "$shared/integration"
  cp target/x86_64-unknown-linux-gnu/debug/xb "$shared/xb"
  cp -r testdata src runtime snapshotter Cargo.toml "$shared/"
  chmod -R a+rX "$shared"
  for user in "$TEST_USER" "$TEST_USER_NOSUB"; do
    step "integration tests as $user"
    (cd "$shared" && runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME="$(getent passwd "$user" | cut -d: -f6)" \
      XB_TEST_STRICT="$XB_TEST_STRICT" XB_BIN="$shared/xb" XB_SOURCE_ROOT="$shared" \
      "$shared/integration" --test-threads=2)
  done
  rm -rf "$shared"
fi

step "all checks passed"
