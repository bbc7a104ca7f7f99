# Shared by scripts/run and scripts/test: install what is missing (and only that), find
# the build's outputs, and start the services the tests need. Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TOOLS_DIR="${BANDPOOL_TOOLS_DIR:-$HOME/.cache/bandpool/tools}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CARGO_LEPTOS_VERSION="0.3.6"
BINARYEN_VERSION="132"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The wasm target, cargo-leptos (pinned), wasm-bindgen-cli (the version in Cargo.lock) and a
# wasm-opt that produces bundles that hydrate (npm binaryen; Debian's breaks hydration).
ensure_build_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "installing the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo install --locked --features no_downloads "cargo-leptos@$CARGO_LEPTOS_VERSION"
  fi
  local wbg
  wbg="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg"; then
    say "installing wasm-bindgen-cli $wbg (about 2 minutes, once)"
    cargo install wasm-bindgen-cli --version "$wbg"
  fi
  if ! "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$TOOLS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
  export PATH="$TOOLS_DIR/node_modules/.bin:$PATH"
}

# Debian's Chromium and the end-to-end suite's npm packages (Playwright drives the system browser).
ensure_browser_tools() {
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing Chromium (Debian package)"
    apt_install chromium
  fi
  # The vendor's usage-report receiver in the browser tests makes its private CA with it.
  if ! command -v openssl >/dev/null 2>&1; then
    say "installing openssl (Debian package)"
    apt_install openssl
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the end-to-end test packages"
    (cd end2end && npm ci --silent --no-audit --no-fund)
  fi
}

# A PostgreSQL server for the data-layer tests: the machine's own if it answers, started if it
# is installed but stopped, or a throwaway cluster on a free port.
ensure_postgres() {
  if [ -n "${BANDPOOL_TEST_POSTGRES_URL:-}" ]; then
    return
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export BANDPOOL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
    return
  fi
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    say "starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 20); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 0.5
    done
    if pg_isready -q -h 127.0.0.1 -p 5432; then
      export BANDPOOL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
      return
    fi
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing PostgreSQL (Debian package)"
    apt_install postgresql
  fi
  local bin dir port
  bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
  dir="$(mktemp -d /tmp/bandpool-pg.XXXXXX)"
  port=55432
  say "starting a throwaway PostgreSQL on port $port"
  chown -R postgres "$dir" 2>/dev/null || true
  local as=""
  [ "$(id -u)" = "0" ] && as="runuser -u postgres --"
  $as "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
  $as "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
  export BANDPOOL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# Build the release server and the size-optimized WASM bundle into target/site, and the
# connector agent, appliance simulator and benchmark harness beside the server binary.
# The bundle's files get their content's hash in their names (hash-files in Cargo.toml; the
# hashes go to hash.txt beside the server binary, where the server finds them at start) and
# a brotli and a gzip copy each (--precompress), which the server sends as they are.
build_release() {
  say "building the portal (release)"
  cargo leptos build --release --precompress
  local hashes="$TARGET_DIR/release/hash.txt"
  if [ ! -s "$hashes" ] || ! ls target/site/pkg/*.wasm.br target/site/pkg/*.wasm.gz >/dev/null 2>&1; then
    echo "the release build left no $hashes or no precompressed bundle in target/site/pkg" >&2
    return 1
  fi
  say "building the connector agent, the LoadMaster simulator and the benchmark harness (release)"
  cargo build --release -p bandpool-connector -p bandpool-simulator -p bandpool-bench
}
