// modelwatch on Azure: `azd up` provisions this, deploys the code, then its postdeploy hook creates the Event Grid
// subscriptions (infra/subscriptions.bicep): an AzureFunction subscription needs the functions to exist first.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name: names the resource group and every resource.')
param environmentName string

@minLength(1)
@description('Region of the app and its resources (not the regions watched).')
param location string

@description('ARM regions whose model catalog is watched, comma-separated, e.g. eastus,swedencentral.')
param watchLocations string

@description('Subscription whose model catalog is read; empty: the one deployed into.')
param watchSubscriptionId string = ''

@description('Subscriptions whose Azure OpenAI accounts are listed when watchAccounts is empty, comma-separated (Reader is granted on each); empty: the catalog subscription.')
param watchSubscriptionIds string = ''

@description('Azure OpenAI account resource ids to watch, comma-separated; empty: every account of those subscriptions. With policyMode enforce, the deployment writer role is granted on exactly these. The preprovision hook validates and de-duplicates the list first.')
param watchAccounts string = ''

@allowed(['plan', 'enforce'])
@description('plan: decide and tell, write nothing. enforce: also upgrade deployments (needs watchAccounts, or policyEnforceAllAccounts).')
param policyMode string = 'plan'

@allowed(['off', 'existing', 'create'])
@description('Canaries (#25). off: none, and no role for them. existing: a covered deployment\'s coming version is tested against a side-by-side deployment: the data-plane role (Cognitive Services OpenAI User) on each account of watchAccounts. create: also temporary canary deployments: the canary writer role (deployments read, write, delete) there too.')
param canaryMode string = 'off'

@description('EVAL_SUITES as a blob container (#25): the container\'s resource id, /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>; the app reads its suites with its identity (Storage Blob Data Reader on that container only, granted when canaryMode is not off). Empty: the evals/ folder the app ships with.')
param evalSuitesContainer string = ''

@description('Suites are the *.yaml blobs directly under this prefix of evalSuitesContainer (e.g. team-a); empty: at its top.')
param evalSuitesPrefix string = ''

@description('true: allow enforce with an empty watchAccounts (writes to every account of the watched subscriptions; no writer role is granted for them: grant it by hand where enforcement may write).')
param policyEnforceAllAccounts bool = false

@description('When catalog_timer runs: 6-field NCRONTAB, UTC.')
param catalogPollSchedule string = '0 0 * * * *'

// Bicep cannot read a period out of an NCRONTAB expression: say it here, next to the schedule. Values whose double
// is a window Azure Monitor log alerts accept (10 min to 2 days).
@allowed([5, 15, 30, 60, 120, 180, 360, 720, 1440])
@description('catalogPollSchedule\'s period in minutes (60 for the hourly default): the missed-run alert fires after twice that without a successful catalog_timer run.')
param catalogPollPeriodMinutes int = 60

@allowed(['info', 'warning', 'critical'])
param alertMinSeverity string = 'info'

// azd pastes each value raw into main.parameters.json, so JSON in a value breaks the file ("unmarshalling Bicep
// template parameters"): the preprovision hook passes ALERT_ROUTES base64-encoded, decoded here.
@secure()
@description('ALERT_ROUTES JSON (route -> {teams, slack: URL, minSeverity, catalogNews}), base64-encoded (the preprovision hook encodes ALERT_ROUTES); stored in Key Vault since it holds URLs.')
param alertRoutesBase64 string = ''

@secure()
@description('The default route\'s Teams Workflows webhook URL; stored in Key Vault, never in app settings.')
param teamsWebhookUrl string = ''

@secure()
@description('The default route\'s Slack incoming webhook URL; stored in Key Vault.')
param slackWebhookUrl string = ''

// A secret added to the vault by hand (az keyvault secret set) is referenced when its flag is true, so a deployment
// that is not given the URL (CI, a colleague's machine) keeps the setting instead of dropping it.
@description('true: teams-webhook-url is already in the vault; reference it even when teamsWebhookUrl is empty.')
param teamsWebhookInVault bool = false

@description('true: slack-webhook-url is already in the vault.')
param slackWebhookInVault bool = false

@description('true: alert-routes is already in the vault.')
param alertRoutesInVault bool = false

param stateTablePrefix string = 'ModelWatch'

@minLength(1)
@description('Client id of the Entra app registration for App Service Authentication: set by the preprovision hook (azd env AUTH_CLIENT_ID).')
param authClientId string

@description('E-mail address told when a watcher-health alert fires (failures, missed catalog cycle, dead letters); empty: none.')
param healthAlertEmail string = ''

@secure()
@description('Webhook called when a watcher-health alert fires (common alert schema); empty: none.')
param healthAlertWebhookUrl string = ''

// Off only by choice: with Disabled the topic accepts events only through a private endpoint, and this template
// creates no network (no VNet, VNet integration for the app, private endpoint or private DNS zone): the app's
// publishing fails until those exist. Event Grid's deliveries to the functions are outbound and unaffected.
@allowed(['Enabled', 'Disabled'])
@description('The Event Grid topic\'s public network access. Disabled needs a private endpoint the Function App reaches through VNet integration (docs/deploy.md#closing-the-topics-public-endpoint).')
param topicPublicNetworkAccess string = 'Enabled'

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var catalogSubscription = empty(watchSubscriptionId) ? subscription().subscriptionId : watchSubscriptionId
// Role scopes: trimmed, lower case (ARM ids are case-insensitive) and without repeats (union keeps one of each), so a
// hand-edited list never grants twice. The app setting keeps the list as given (the preprovision hook checked it).
var accounts = union(filter(map(split(watchAccounts, ','), a => toLower(trim(a))), a => !empty(a)), [])
var alertRoutes = empty(alertRoutesBase64) ? '' : base64ToString(alertRoutesBase64)
// The app refuses to start in enforce mode with no accounts unless told to write everywhere
// (shared/config/load.py), so the template refuses that combination too. ARM has no fail(): int() of a sentence
// stops the deployment with the sentence in the error, and if() evaluates only the branch taken.
var enforceRefused = policyMode == 'enforce' && empty(accounts) && !policyEnforceAllAccounts
var checkedPolicyMode = enforceRefused
  ? string(int('POLICY_MODE=enforce with an empty WATCH_ACCOUNTS writes to every account: name the accounts in WATCH_ACCOUNTS, or set POLICY_ENFORCE_ALL_ACCOUNTS=true'))
  : policyMode
// Deployment names at subscription scope are kept per location: a second environment (another region) reusing a name
// fails with InvalidDeploymentLocation. Names carry the environment and location (at most 64 characters).
var deploymentSuffix = take('${environmentName}-${location}', 37)
var listedSubscriptions = filter(map(split(watchSubscriptionIds, ','), s => toLower(trim(s))), s => !empty(s))
// Where the app reads: the catalog's subscription; the listed subscriptions, which the app uses only when no
// accounts are named; and the subscriptions of the named accounts (GET account, list its deployments).
var subscriptionsToRead = union(
  [toLower(catalogSubscription)],
  empty(accounts) ? listedSubscriptions : [],
  map(accounts, a => toLower(split(a, '/')[2]))
)

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

// EVAL_SUITES from the container's resource id: https://<account>.blob.<storage suffix>/<container>[/<prefix>]. Its
// parts 2 (subscription), 4 (resource group), 8 (account) and 12 (container); a placeholder id when there is none, so
// the skipped module's scope still evaluates
var suitesParts = split(empty(evalSuitesContainer) ? '/subscriptions/-/resourceGroups/-/providers/Microsoft.Storage/storageAccounts/-/blobServices/default/containers/-' : evalSuitesContainer, '/')
var evalSuites = empty(evalSuitesContainer) ? '' : 'https://${suitesParts[8]}.blob.${environment().suffixes.storage}/${last(suitesParts)}${empty(evalSuitesPrefix) ? '' : '/${evalSuitesPrefix}'}'

module app 'modules/app.bicep' = {
  name: 'app'
  scope: group
  params: {
    location: location
    tags: tags
    token: token
    watchLocations: watchLocations
    watchSubscriptionId: catalogSubscription
    watchSubscriptionIds: watchSubscriptionIds // as given: the app defaults an empty list to the catalog subscription
    watchAccounts: watchAccounts
    policyMode: checkedPolicyMode
    canaryMode: canaryMode
    evalSuites: evalSuites
    policyEnforceAllAccounts: policyEnforceAllAccounts ? 'true' : 'false'
    catalogPollSchedule: catalogPollSchedule
    catalogPollPeriodMinutes: catalogPollPeriodMinutes
    alertMinSeverity: alertMinSeverity
    alertRoutes: alertRoutes
    teamsWebhookUrl: teamsWebhookUrl
    slackWebhookUrl: slackWebhookUrl
    teamsWebhookInVault: teamsWebhookInVault
    slackWebhookInVault: slackWebhookInVault
    alertRoutesInVault: alertRoutesInVault
    stateTablePrefix: stateTablePrefix
    authClientId: authClientId
    healthAlertEmail: healthAlertEmail
    healthAlertWebhookUrl: healthAlertWebhookUrl
    topicPublicNetworkAccess: topicPublicNetworkAccess
  }
}

// Per watched subscription: the two custom role definitions (modules/subscription-roles.bicep), then, in a deployment
// of its own that starts only once they exist, the catalog reader role on the subscription
// (modules/catalog-reader.bicep): Models - List, the account listing, each account's deployments and models, and the
// poll of a deployment write. Reader is not granted: it reads everything in the subscription.
// Why two deployments: a custom role assigned in the deployment that defines it can meet RoleDefinitionDoesNotExist
// while the definition replicates. Assigning it from a later deployment that depends on the defining one orders the
// two and leaves the replication the time that deployment takes to finish and the next to start; the definitions
// have stable names, so if the assignment still meets the error, `azd provision` again succeeds (docs/deploy.md).
module subscriptionRoles 'modules/subscription-roles.bicep' = [for sub in subscriptionsToRead: {
  name: 'mw-roles-${deploymentSuffix}-${uniqueString(sub, environmentName, location)}'
  scope: subscription(sub)
  params: {
    subscriptionKey: sub
  }
}]

module readers 'modules/catalog-reader.bicep' = [for (sub, i) in subscriptionsToRead: {
  name: 'mw-reader-${deploymentSuffix}-${uniqueString(sub, environmentName, location)}'
  scope: subscription(sub)
  params: {
    principalId: app.outputs.principalId
    roleDefinitionId: subscriptionRoles[i].outputs.readerRoleId // the dependency: defined before assigned
  }
}]

// Writing deployments is granted only with enforcement on, and only on the watched accounts, never wider. The role is
// the custom deployment writer of the account's subscription (defined by subscriptionRoles, hence the dependency).
module writers 'modules/account-writer.bicep' = [for account in (checkedPolicyMode == 'enforce' ? accounts : []): {
  name: 'mw-writer-${deploymentSuffix}-${uniqueString(account, environmentName, location)}'
  scope: resourceGroup(split(account, '/')[2], split(account, '/')[4])
  params: {
    accountName: last(split(account, '/'))
    principalId: app.outputs.principalId
    roleDefinitionId: subscriptionResourceId(
      split(account, '/')[2],
      'Microsoft.Authorization/roleDefinitions',
      guid(split(account, '/')[2], 'modelwatch-deployment-writer')
    )
  }
  dependsOn: [
    subscriptionRoles
  ]
}]

// Canaries, only when on and only on the watched accounts: the data plane (chat completions), and with create the
// canary writer role of the account's subscription (defined by subscriptionRoles, hence the dependency).
module canaryRoles 'modules/account-canary.bicep' = [for account in (canaryMode != 'off' ? accounts : []): {
  name: 'mw-canary-${deploymentSuffix}-${uniqueString(account, environmentName, location)}'
  scope: resourceGroup(split(account, '/')[2], split(account, '/')[4])
  params: {
    accountName: last(split(account, '/'))
    principalId: app.outputs.principalId
    canCreate: canaryMode == 'create'
    canaryRoleDefinitionId: subscriptionResourceId(
      split(account, '/')[2],
      'Microsoft.Authorization/roleDefinitions',
      guid(split(account, '/')[2], 'modelwatch-canary-writer')
    )
  }
  dependsOn: [
    subscriptionRoles
  ]
}]

// The suites' container, when EVAL_SUITES is one and canaries are on: read only, that container only.
module suitesReader 'modules/eval-suites-reader.bicep' = if (canaryMode != 'off' && !empty(evalSuitesContainer)) {
  name: 'mw-suites-${deploymentSuffix}-${uniqueString(evalSuitesContainer, environmentName, location)}'
  scope: resourceGroup(suitesParts[2], suitesParts[4])
  params: {
    storageAccountName: suitesParts[8]
    containerName: last(suitesParts)
    principalId: app.outputs.principalId
  }
}

output AZURE_RESOURCE_GROUP string = group.name
output AZURE_LOCATION string = location
output FUNCTION_APP_NAME string = app.outputs.functionAppName
output FUNCTION_APP_HOST string = app.outputs.functionAppHost
output FUNCTION_APP_PRINCIPAL_ID string = app.outputs.principalId
output EVENTGRID_TOPIC_NAME string = app.outputs.topicName
output STORAGE_ACCOUNT_NAME string = app.outputs.storageAccountName
output DEADLETTER_CONTAINER string = app.outputs.deadLetterContainer
output KEY_VAULT_NAME string = app.outputs.keyVaultName
// the postprovision hook removes writer-role assignments left on accounts no longer watched: these are the roles
output WRITER_ROLE_IDS string = join(
  map(
    subscriptionsToRead,
    s => subscriptionResourceId(s, 'Microsoft.Authorization/roleDefinitions', guid(s, 'modelwatch-deployment-writer'))
  ),
  ','
)
// and the canary writer roles (#25), removed from accounts dropped from watchAccounts or when canaries stop creating
output CANARY_ROLE_IDS string = join(
  map(
    subscriptionsToRead,
    s => subscriptionResourceId(s, 'Microsoft.Authorization/roleDefinitions', guid(s, 'modelwatch-canary-writer'))
  ),
  ','
)
