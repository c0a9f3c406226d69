#!/usr/bin/env bash
# Makes the pgvector extension available to the Postgres server at PGHOST:PGPORT (default
# 127.0.0.1:5432, user postgres), so the semantic response cache can be tested on real Postgres.
#
# Nothing happens when the server already offers `vector` (Supabase does, and so does any server
# where it was installed before). Otherwise, on Debian: Debian 12 ships no pgvector package for
# its PostgreSQL 15, but Debian 13 has the pgvector source package, which builds against any
# server major with that major's PGXS. The source is fetched with apt through a sources file and
# package lists of its own, in a temporary folder, so the system's apt configuration never sees
# Debian 13; the build tools and the server's headers come from the system's own suites.
#
# Usage: scripts/install-pgvector.sh   (as root, or a user that may sudo)
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
SOURCE_SUITE=${PGVECTOR_SOURCE_SUITE:-trixie}

server() {
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"
}

available() {
  [ "$(server "select count(*) from pg_available_extensions where name = 'vector'")" = 1 ]
}

if available; then
  echo "== pgvector: already available on $PGHOST:$PGPORT"
  exit 0
fi

major=$(server "select current_setting('server_version_num')::int / 10000")
pg_config=/usr/lib/postgresql/$major/bin/pg_config
if ! command -v apt-get >/dev/null 2>&1; then
  echo "pgvector is not available on $PGHOST:$PGPORT and this is not a Debian-like system;" \
    "install pgvector for PostgreSQL $major (https://github.com/pgvector/pgvector#installation)" >&2
  exit 1
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

echo "== pgvector: building from Debian $SOURCE_SUITE's source for PostgreSQL $major"
needed=()
# The server's headers and PGXS makefiles (pg_config alone comes with the client package).
[ -x "$pg_config" ] && [ -f "$("$pg_config" --includedir-server)/postgres.h" ] &&
  [ -f "$("$pg_config" --pgxs)" ] || needed+=("postgresql-server-dev-$major")
command -v dpkg-source >/dev/null 2>&1 || needed+=(dpkg-dev)
command -v make >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1 || needed+=(build-essential)
if [ ${#needed[@]} -gt 0 ]; then
  echo "== pgvector: installing ${needed[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/parts" "$work/build"
chmod 755 "$work"
cat >"$work/parts/pgvector.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $SOURCE_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Only this sources file and these lists: the system's own apt state is left as it was. The
# downloads land in this user's folder, so apt's sandbox user is this user.
apt_options=(
  -o "APT::Sandbox::User=$(id -un)"
  -o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache::Archives=$work/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
)
apt-get "${apt_options[@]}" update -qq
(cd "$work/build" && apt-get "${apt_options[@]}" source -qq pgvector >/dev/null)
src=$(find "$work/build" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
[ -n "$src" ] || {
  echo "apt-get source pgvector unpacked nothing in $work/build" >&2
  exit 1
}

# with_llvm=no: no JIT bitcode, so no clang is needed; pgvector runs the same without it.
make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no
"${sudo_cmd[@]}" make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no install

if ! available; then
  echo "pgvector was built and installed for PostgreSQL $major, but the server on" \
    "$PGHOST:$PGPORT still does not list it; is that server PostgreSQL $major of this machine?" >&2
  exit 1
fi
echo "== pgvector: $(server "select default_version from pg_available_extensions where name = 'vector'") available on $PGHOST:$PGPORT"
