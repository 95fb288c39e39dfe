#!/usr/bin/env bash
# `npm run rpm`: builds the app, stages it with its production node_modules (the addons as npm ci built them, nothing
# recompiled), and runs rpmbuild on rpm/parallama.spec. The package lands in rpm/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rpmbuild >/dev/null || { echo "rpm/build.sh: rpmbuild is missing (Debian: apt-get install rpm)" >&2; exit 2; }
version=$(node -p "require('./package.json').version")
# --prebuilt: dist/ is fresh (npm test builds it before the packaging test runs this), so it is not built twice.
[ "${1:-}" = --prebuilt ] || npm run build --silent
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/parallama-$version"
mkdir -p "$stage/dist"
cp -a dist/src dist/cli dist/native dist/ui "$stage/dist/"
cp -a package.json package-lock.json LICENSE README.md docs conf systemd rpm "$stage/"
# The dependency audit's outcome ships with the package, for `parallama report compliance`; .ci/run is the gate.
PARALLAMA_AUDIT_UNREACHABLE=warn node .ci/auditCheck.js --record "$stage/dist/dependency-audit.json" >&2 || true
# The folder's contents, not the entry: a checkout whose node_modules is a symlink (a git worktree sharing another's)
# would otherwise stage the link, and the prune below would delete packages from the folder it points to.
mkdir "$stage/node_modules"
cp -a node_modules/. "$stage/node_modules/"
rm -rf "$stage/rpm/out"
(cd "$stage" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
# Addons ship binaries for every platform (uWebSockets.js also per Node ABI): keep Linux x86_64's.
find "$stage/node_modules" -name 'uws_*.node' ! -name 'uws_linux_x64_*' -delete
find "$stage/node_modules" -path '*/prebuilds/*' -maxdepth 4 -type d ! -name 'linux-x64*' -prune -exec rm -rf {} +
# What runs needs no sources, build leftovers, tests or package-manager metadata.
modules="$stage/node_modules"
sqlite="$modules/better-sqlite3"
find "$sqlite/build" -mindepth 1 ! -path "$sqlite/build/Release" ! -path "$sqlite/build/Release/better_sqlite3.node" \
  -prune -exec rm -rf {} +
rm -rf "$sqlite/deps" "$sqlite/src" "$modules/bufferutil/src" "$modules/utf-8-validate/deps" "$modules/utf-8-validate/src"
rm -rf "$modules/.bin" "$modules/.package-lock.json"
find "$modules" -depth -type d \( -name test -o -name tests -o -name __tests__ -o -name fixtures -o -name .github \) \
  -exec rm -rf {} +
find "$modules" -type f \( -name '*.md' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \
  -o -name '*.gyp' -o -name '*.gypi' -o -name '*.sh' -o -name '.*' \) -delete
find "$modules" -type f -empty -delete
# Scripts run by the system's node, not whatever `env` finds first; files that are not scripts are not executable.
grep -rlZE --include='*.js' --include='*.mjs' --include='*.cjs' -m1 '^#! ?/usr/bin/env node' "$modules" "$stage/dist" |
  xargs -0 -r sed -i -E '1s|^#! ?/usr/bin/env node|#!/usr/bin/node|'
find "$modules" -type f -perm /111 ! -name '*.node' -exec sh -c 'head -c2 "$1" | grep -q "#!" || chmod a-x "$1"' _ {} \;
chmod 0755 "$stage/dist/cli/index.js"
find "$modules" -name '*.node' -exec strip --strip-unneeded {} \;
rm -f "$stage/package-lock.json"
tar -czf "$work/parallama-$version.tar.gz" -C "$work" "parallama-$version"
cp rpm/parallama.sysusers "$work/"
rpmbuild -bb rpm/parallama.spec --quiet \
  --define "_topdir $work/rpmbuild" --define "_sourcedir $work" --define "pkg_version $version"
mkdir -p rpm/out
cp "$work"/rpmbuild/RPMS/*/*.rpm rpm/out/
ls rpm/out/*.rpm
