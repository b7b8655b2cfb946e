#!/usr/bin/env bash
# The packed tarball bundled by esbuild, as serverless users ship it: a small app using PostgresStore
# and RedisStore (scripts/smoke/bundle/app.js), bundled as ESM and as CommonJS with the drivers `pg`
# and `ioredis` external (installed next to the bundle), must start and save and find a token on
# the shared servers. Each bundle gets its own table and key prefix; both are removed on exit.
# Usage: smoke-bundle.sh [node]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke/common.sh
node_bin="${1:-node}"

tarball="$(smoke_tarball)"
app="$smoke_work/app"
fresh_project "$app"
cp scripts/smoke/bundle/app.js scripts/smoke/bundle/clean-up.mjs "$app/"
cd "$app"
npm install --no-audit --no-fund --silent "$tarball" "esbuild@$(repo_version esbuild)" "pg@$(repo_version pg)" "ioredis@$(repo_version ioredis)"

export SMOKE_PG_URL=postgres://postgres@127.0.0.1:5432/test SMOKE_REDIS_URL=redis://127.0.0.1:6379
run_id="$(date +%s)_$$"
tables=() SMOKE_REDIS_PREFIXES=''
smoke_on_exit+=('(cd "$app" && SMOKE_REDIS_PREFIXES="$SMOKE_REDIS_PREFIXES" "$node_bin" clean-up.mjs "${tables[@]}")')

for format in esm cjs; do
  bundle="dist/app.$([ "$format" = esm ] && echo mjs || echo cjs)"
  npx esbuild app.js --bundle --platform=node --target=node20 --format="$format" \
    --external:pg --external:ioredis --outfile="$bundle" --log-level=warning
  table="smoke_bundle_${format}_$run_id" prefix="smoke-bundle-$format-$run_id:"
  tables+=("$table")
  SMOKE_REDIS_PREFIXES+=" $prefix"
  echo "smoke: $bundle ($format, $(wc -c < "$bundle" | tr -d ' ') bytes) on $("$node_bin" --version)"
  SMOKE_PG_TABLE="$table" SMOKE_REDIS_PREFIX="$prefix" "$node_bin" "$bundle"
done
