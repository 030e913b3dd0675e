# Shared by the azd hooks (sourced, POSIX sh): fail early with the fix named, instead of retrying a command that can
# never work and blaming something else.

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
