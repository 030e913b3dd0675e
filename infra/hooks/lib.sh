# Shared by the azd hooks (sourced, POSIX sh): fail early with the fix named, instead of retrying a command that can
# never work and blaming something else.

# shellcheck disable=SC2034  # used by the scripts that source this file
HOOKS_DIR=$(dirname "$0")
ACCOUNT_ID_RE='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$'

say() { printf 'modelwatch: %s\n' "$*"; }
fail() {
  printf 'modelwatch: %s\n' "$*" >&2
  exit 1
}
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# az installed and signed in, or stop here naming the fix ($1: the hook's name, to rerun it alone).
require_az() {
  command -v az >/dev/null 2>&1 ||
    fail "the Azure CLI (az) is not installed or not on PATH, and the $1 hook needs it. Install it" \
      "(https://aka.ms/installazurecli), then run: azd hooks run $1"
  az account show --output none >/dev/null 2>&1 ||
    fail "az is not signed in, and the $1 hook needs it. Run: az login (in GitHub Actions: the azure/login step)," \
      "then: azd hooks run $1. azd auth login does not sign az in."
}

require_azd() {
  command -v azd >/dev/null 2>&1 || fail "azd is not on PATH: the $1 hook stores what it finds with azd env set"
}

# WATCH_ACCOUNTS checked and de-duplicated (case-insensitively, first spelling kept, trailing / dropped): prints the
# list, comma-separated; stops naming every entry that is not an account resource id.
normalize_accounts() {
  out=""
  seen=","
  bad=""
  set -f # the ids are split on commas, never globbed
  old_ifs=$IFS
  IFS=','
  for raw in $1; do
    IFS=$old_ifs
    id=$(printf '%s' "$raw" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's:/*$::')
    [ -n "$id" ] || continue
    if ! printf '%s\n' "$id" | grep -Eiq "$ACCOUNT_ID_RE"; then
      bad="$bad '$id'"
      continue
    fi
    key=$(lower "$id")
    case "$seen" in *",$key,"*) continue ;; esac
    seen="$seen$key,"
    out="${out:+$out,}$id"
  done
  IFS=$old_ifs
  set +f
  [ -z "$bad" ] || fail "WATCH_ACCOUNTS has entries that are not Azure OpenAI account resource ids:$bad." \
    "Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>," \
    "comma-separated (azd env set WATCH_ACCOUNTS ...)"
  printf '%s' "$out"
}

# 0 when $1 is a JSON object, 1 when it is anything else (invalid JSON included). A real parser, so pretty-printed
# (multi-line) JSON is as good as one line: python3 (azd itself needs python3 on PATH for this Python app on Linux and
# macOS), else jq; neither: stop naming the fix.
is_json_object() {
  if command -v python3 >/dev/null 2>&1; then
    printf '%s' "$1" | python3 -c 'import json, sys; sys.exit(0 if isinstance(json.load(sys.stdin), dict) else 1)' \
      >/dev/null 2>&1
  elif command -v jq >/dev/null 2>&1; then
    printf '%s' "$1" | jq -e 'type == "object"' >/dev/null 2>&1
  else
    fail "checking ALERT_ROUTES needs python3 (or jq) on PATH: install Python 3 (azd needs it for this app anyway)"
  fi
}
