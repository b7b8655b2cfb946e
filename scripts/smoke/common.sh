# Sourced by the smoke scripts, from the repository root. Gives them:
#   smoke_repo      the repository root
#   smoke_work      a scratch folder, removed on exit (after the commands in smoke_on_exit)
#   smoke_tarball   prints the packed package: $SMOKE_TARBALL when set (.ci/run packs once for all
#                   scripts), else a fresh `npm pack` into smoke_work
#   fresh_project   an empty ESM project in a new folder
#   cached_install  npm packages installed once into a cache folder, never globally
smoke_repo="$PWD"
smoke_work="$(mktemp -d)"
smoke_on_exit=()
trap 'for hook in "${smoke_on_exit[@]}"; do eval "$hook" || true; done; rm -rf "$smoke_work"' EXIT
smoke_cache="${XDG_CACHE_HOME:-$HOME/.cache}/zoho-token-store"
mkdir -p "$smoke_cache"

smoke_tarball() {
  if [ -n "${SMOKE_TARBALL:-}" ]; then
    echo "$SMOKE_TARBALL"
  else
    echo "$smoke_work/$(cd "$smoke_repo" && npm pack --silent --pack-destination "$smoke_work" | tail -1)"
  fi
}

fresh_project() { # folder
  mkdir -p "$1"
  printf '{ "name": "app", "private": true, "type": "module" }\n' > "$1/package.json"
}

cached_install() { # cache-subfolder package@version… → prints the subfolder (bins in node_modules/.bin)
  local dir="$smoke_cache/$1"
  shift
  if [ ! -f "$dir/.installed" ]; then
    # Installed beside the cache and moved in whole: a failed install (this runs inside $(…),
    # where set -e does not stop it) is never marked done, and two runs never share a half.
    local tmp
    tmp="$(mktemp -d "$smoke_cache/.install-XXXXXX")" || return 1
    if ! npm install --prefix "$tmp" --no-save --no-audit --no-fund --no-package-lock --silent "$@" >&2; then
      rm -rf "$tmp"
      echo "smoke: npm install $* failed" >&2
      return 1
    fi
    touch "$tmp/.installed"
    rm -rf "$dir"
    mv "$tmp" "$dir" || { rm -rf "$tmp"; [ -f "$dir/.installed" ] || return 1; }
  fi
  echo "$dir"
}

# A package's version in this repository's node_modules, so the fresh projects test what CI uses.
repo_version() { # package
  node -p "require('$smoke_repo/node_modules/$1/package.json').version"
}
