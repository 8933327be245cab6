# Shared by script/run and script/test: install what is missing, then build.
# Sourced, not executed. Works on a fresh Debian 12 machine as root.

MOXI_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages needed to build and run moxi (configure also wants what
# its tests are built with: CppUnit, zlib, OpenSSL's libcrypto).
MOXI_BUILD_PACKAGES="g++ make autoconf automake pkg-config libevent-dev libcurl4-openssl-dev
  rapidjson-dev libmemcached-dev libcppunit-dev zlib1g-dev libsasl2-dev libsasl2-modules memcached libssl-dev liburing-dev"
# Extra packages the tests use (real peers and tools; clang and its runtime
# for the libFuzzer targets of t/fuzz/run; Ruby's Dalli and PHP's memcached
# extension as real SASL clients, t/clients/; nc for the README's examples,
# which t/doc_examples runs; for t/package/run: the Debian
# packaging tools, lintian, logrotate, promtool (in Debian's prometheus
# package, whose server this installs too), systemd-analyze (systemd, which
# only brings the tools here: nothing makes it PID 1) and python3 for free ports;
# pymemcache (t/clients/tls_client.py) and the openssl command for the TLS tests.
MOXI_TEST_PACKAGES="libmemcached-tools ruby ruby-sinatra thin clang libclang-rt-14-dev sasl2-bin
  ruby-dalli php-cli php-memcached netcat-openbsd dpkg-dev debhelper lintian logrotate prometheus systemd python3
  python3-pymemcache openssl"

# install_packages PKG...: installs the packages that are not installed yet;
# does nothing (and needs no network) when all are present.
install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build_tree DIR [CONFIGURE ARGS...]: autoreconf when needed, configure DIR
# (an out-of-tree build) when needed, then make. Make itself decides what is stale.
build_tree() {
  local dir=$1; shift
  (cd "$MOXI_TOP" && { [ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi; })
  mkdir -p "$MOXI_TOP/$dir"
  (cd "$MOXI_TOP/$dir" && { [ -f Makefile ] || "$MOXI_TOP/configure" "$@"; } && make -j"$(nproc)")
}
