#!/bin/sh
# azd preprovision (azure.yaml): check and prepare what azd pastes into infra/main.parameters.json. Every value it
# derives is stored with `azd env set`; azd reloads the environment after a hook. Needs no az.
set -eu
. "$(dirname "$0")/lib.sh"
require_azd preprovision

# 1. WATCH_ACCOUNTS: account resource ids only, each once (the template grants roles per entry)
accounts=$(normalize_accounts "${WATCH_ACCOUNTS:-}")
if [ "$accounts" != "${WATCH_ACCOUNTS:-}" ]; then
  azd env set WATCH_ACCOUNTS "$accounts"
  say "WATCH_ACCOUNTS normalised (trimmed, duplicates removed): $accounts"
fi

# 2. enforce with no named account writes everywhere: refused unless said outright (the app refuses it too)
if [ "$(lower "${POLICY_MODE:-plan}")" = enforce ] && [ -z "$accounts" ] &&
  [ "$(lower "${POLICY_ENFORCE_ALL_ACCOUNTS:-false}")" != true ]; then
  fail "POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched subscriptions." \
    "Name the accounts (azd env set WATCH_ACCOUNTS <id>,<id>) or say so outright" \
    "(azd env set POLICY_ENFORCE_ALL_ACCOUNTS true)"
fi

# 3. ALERT_ROUTES is JSON, and azd substitutes values raw into main.parameters.json, where its quotes would break the
# file: the template takes it base64-encoded (alertRoutesBase64) and decodes it. Always rewritten, so clearing
# ALERT_ROUTES clears the encoded copy too.
routes="${ALERT_ROUTES:-}"
if [ -n "$routes" ]; then
  case "$(printf '%s' "$routes" | sed -e 's/^[[:space:]]*//' | cut -c1)" in
    "{") ;;
    *) fail "ALERT_ROUTES must be a JSON object, e.g. {\"payments\": {\"slack\": \"https://hooks.slack.com/...\"}}" ;;
  esac
  azd env set ALERT_ROUTES_B64 "$(printf '%s' "$routes" | base64 | tr -d '\n\r')"
else
  azd env set ALERT_ROUTES_B64 ""
fi
