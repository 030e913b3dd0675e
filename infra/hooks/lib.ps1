# Shared by the azd hooks on Windows (dot-sourced, PowerShell 7): the same checks as lib.sh.
$ErrorActionPreference = 'Stop'

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
