# azd preprovision on Windows: the same steps as preprovision.sh (which says why).
. "$PSScriptRoot/lib.ps1"
Require-Azd preprovision

# 1. WATCH_ACCOUNTS: account resource ids only, each once
$accounts = Get-NormalizedAccounts "$env:WATCH_ACCOUNTS"
if ($accounts -ne "$env:WATCH_ACCOUNTS") {
  Invoke-Checked { azd env set WATCH_ACCOUNTS $accounts } | Out-Null
  Say "WATCH_ACCOUNTS normalised (trimmed, duplicates removed): $accounts"
}

# 2. enforce with no named account writes everywhere: refused unless said outright
$mode = if ($env:POLICY_MODE) { $env:POLICY_MODE.ToLower() } else { 'plan' }
if ($mode -eq 'enforce' -and -not $accounts -and "$env:POLICY_ENFORCE_ALL_ACCOUNTS".ToLower() -ne 'true') {
  Fail ("POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched subscriptions. " +
    "Name the accounts (azd env set WATCH_ACCOUNTS <id>,<id>) or say so outright (azd env set POLICY_ENFORCE_ALL_ACCOUNTS true)")
}

# 3. ALERT_ROUTES goes to the template base64-encoded (raw JSON would break main.parameters.json)
$routes = "$env:ALERT_ROUTES"
if ($routes) {
  if (-not $routes.TrimStart().StartsWith('{')) { Fail 'ALERT_ROUTES must be a JSON object, e.g. {"payments": {"slack": "https://hooks.slack.com/..."}}' }
  $encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($routes))
  Invoke-Checked { azd env set ALERT_ROUTES_B64 $encoded } | Out-Null
} else {
  Invoke-Checked { azd env set ALERT_ROUTES_B64 '' } | Out-Null
}
