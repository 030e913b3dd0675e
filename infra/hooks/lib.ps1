# Shared by the azd hooks on Windows (dot-sourced, PowerShell 7): the same checks as lib.sh.
$ErrorActionPreference = 'Stop'
$AccountIdPattern = '^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$'

function Say([string]$Message) { Write-Host "modelwatch: $Message" }
function Fail([string]$Message) { [Console]::Error.WriteLine("modelwatch: $Message"); exit 1 }

# az installed and signed in, or stop here naming the fix ($Hook: the hook's name, to rerun it alone).
function Require-Az([string]$Hook) {
  if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Fail "the Azure CLI (az) is not installed or not on PATH, and the $Hook hook needs it. Install it (https://aka.ms/installazurecli), then run: azd hooks run $Hook"
  }
  az account show --output none 2>$null
  if ($LASTEXITCODE -ne 0) {
    Fail "az is not signed in, and the $Hook hook needs it. Run: az login (in GitHub Actions: the azure/login step), then: azd hooks run $Hook. azd auth login does not sign az in."
  }
}

function Require-Azd([string]$Hook) {
  if (-not (Get-Command azd -ErrorAction SilentlyContinue)) { Fail "azd is not on PATH: the $Hook hook stores what it finds with azd env set" }
}

# Runs a native command and stops when it fails ($ErrorActionPreference does not cover native exit codes).
function Invoke-Checked([scriptblock]$Command) {
  $out = & $Command
  if ($LASTEXITCODE -ne 0) { Fail "command failed ($LASTEXITCODE): $Command" }
  $out
}

# WATCH_ACCOUNTS checked and de-duplicated (case-insensitively, first spelling kept, trailing / dropped).
function Get-NormalizedAccounts([string]$Raw) {
  $out = [System.Collections.Generic.List[string]]::new()
  $seen = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
  $bad = @()
  foreach ($part in ($Raw -split ',')) {
    $id = $part.Trim().TrimEnd('/')
    if (-not $id) { continue }
    if ($id -notmatch $AccountIdPattern) { $bad += "'$id'"; continue }
    if ($seen.Add($id)) { $out.Add($id) }
  }
  if ($bad) {
    Fail ("WATCH_ACCOUNTS has entries that are not Azure OpenAI account resource ids: $($bad -join ' '). Use " +
      "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>, comma-separated (azd env set WATCH_ACCOUNTS ...)")
  }
  $out -join ','
}
