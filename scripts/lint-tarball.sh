#!/usr/bin/env bash
# Lints the packed tarball as the registry would serve it: publint (package.json fields, exports,
# files) with warnings as errors, and Are the Types Wrong? (@arethetypeswrong/cli) on the type
# declarations each subpath resolves to. The package is ESM-only, so attw runs with its `esm-only`
# profile: it skips node10 and node16-from-CommonJS, where an ESM-only package is expected to fail.
# Both tools are pinned and installed into a cache folder, not into the project's dependencies.
# Usage: lint-tarball.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke/common.sh

publint_version=0.3.25
attw_version=0.18.5
tools="$(cached_install "package-lint-publint-$publint_version-attw-$attw_version" \
  "publint@$publint_version" "@arethetypeswrong/cli@$attw_version")/node_modules/.bin"
tarball="$(smoke_tarball)"

"$tools/publint" run "$tarball" --strict
"$tools/attw" "$tarball" --profile esm-only --format table-flipped --no-color
echo "smoke: publint $publint_version and attw $attw_version (profile esm-only): no problems"
