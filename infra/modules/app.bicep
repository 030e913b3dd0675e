// Everything in the app's resource group: storage (host, state tables, package, dead letters), monitoring, the
// Event Grid topic, Key Vault for the webhook URLs, the Flex Consumption Function App, and the identity's roles
// on these resources. No keys anywhere: shared-key access and the topic's local auth are off.
param location string
param tags object
param token string
param watchLocations string
param watchSubscriptionId string
param watchSubscriptionIds string
param watchAccounts string
param policyMode string
@description('CANARY_MODE: off, existing or create (main.bicep grants the roles it needs).')
param canaryMode string = 'off'
@description('EVAL_SUITES: a blob container URL (main.bicep builds it from evalSuitesContainer); empty: the evals/ folder shipped with the app.')
param evalSuites string = ''
param catalogPollSchedule string
param alertMinSeverity string
@secure()
param alertRoutes string
@secure()
param teamsWebhookUrl string
@secure()
param slackWebhookUrl string
// true when the secret is already in the vault (set with az keyvault secret set): the app setting then refers to
// it even though this deployment was given no value, so a deploy without the URL does not drop the setting
param teamsWebhookInVault bool
param slackWebhookInVault bool
param alertRoutesInVault bool
param stateTablePrefix string
@description('\'true\' or \'false\': POLICY_ENFORCE_ALL_ACCOUNTS (main.bicep refuses enforce with no accounts without it).')
param policyEnforceAllAccounts string
@description('Client id of the Entra app registration behind App Service Authentication (the preprovision hook creates it).')
param authClientId string
param catalogPollPeriodMinutes int
param healthAlertEmail string
@secure()
param healthAlertWebhookUrl string
@description('The Event Grid topic\'s publicNetworkAccess (main.bicep says what Disabled needs).')
param topicPublicNetworkAccess string

var deploymentContainer = 'app-package'
var deadLetterContainer = 'deadletter'
// the parts of a large inventory refresh (INVENTORY_FANOUT_THRESHOLD): the timer writes, refresh_inventory reads;
// the host creates '<name>-poison' beside it for messages that failed maxDequeueCount times (host.json)
var inventoryQueue = 'modelwatch-inventory'
var canaryQueueName = 'modelwatch-canary'
// the Event Grid deliveries' work: apply_update_policy and notify_channels write and answer Event Grid at once,
// deliver_queued reads (the same account-wide role as the refresh's queue; its poison queue beside it likewise)
var deliveryQueue = 'modelwatch-deliveries'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${token}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false // identity only: no connection string with a key exists to leak
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainer
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deadLetterContainer
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource refreshQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: inventoryQueue
}

// the canary asks apply_update_policy queues for run_canary (#25)
resource canaryQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: canaryQueueName
}

resource handoffQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: deliveryQueue
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${token}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true // telemetry with Entra ID (Monitoring Metrics Publisher), not the ingestion key
  }
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: 'evgt-${token}'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' } // writes dead letters (shared keys are off); AzureFunction delivery needs none
  properties: {
    inputSchema: 'EventGridSchema'
    disableLocalAuth: true // publishing needs EventGrid Data Sender: no topic key exists to leak
    // Enabled unless told (TOPIC_PUBLIC_NETWORK_ACCESS): Disabled takes a private endpoint the app can reach
    // (docs/deploy.md#closing-the-topics-public-endpoint); delivery to the functions is unaffected either way
    publicNetworkAccess: topicPublicNetworkAccess
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${take(token, 20)}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

resource teamsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: vault
  name: 'teams-webhook-url'
  properties: { value: teamsWebhookUrl }
}

resource slackSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(slackWebhookUrl)) {
  parent: vault
  name: 'slack-webhook-url'
  properties: { value: slackWebhookUrl }
}

// ALERT_ROUTES may hold webhook URLs (a route's teams/slack value is a URL or a setting name)
resource routesSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertRoutes)) {
  parent: vault
  name: 'alert-routes'
  properties: { value: alertRoutes }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

// Key Vault references: the host resolves them with the app's identity; the URLs never sit in app settings.
// Set only when the secret exists: an unresolvable reference would reach the app as text and fail its settings.
var secretSettings = union(
  empty(teamsWebhookUrl) && !teamsWebhookInVault ? {} : { TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/teams-webhook-url/)' },
  empty(slackWebhookUrl) && !slackWebhookInVault ? {} : { SLACK_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/slack-webhook-url/)' },
  empty(alertRoutes) && !alertRoutesInVault ? {} : { ALERT_ROUTES: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/alert-routes/)' }
)

var appSettings = union(
  {
    // identity-based host storage (timer locks); the state tables live in the same account
    AzureWebJobsStorage__accountName: storage.name
    STATE_STORE: 'https://${storage.name}.table.${environment().suffixes.storage}'
    STATE_TABLE_PREFIX: stateTablePrefix
    // refresh_inventory's trigger reads %INVENTORY_QUEUE_NAME% (it must be set); the queue is in the same account
    INVENTORY_QUEUE_NAME: refreshQueue.name
    // run_canary's trigger reads %CANARY_QUEUE_NAME% (it must be set)
    CANARY_QUEUE_NAME: canaryQueue.name
    // deliver_queued's trigger reads %DELIVERY_QUEUE_NAME% (it must be set)
    DELIVERY_QUEUE_NAME: handoffQueue.name
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
    CATALOG_POLL_SCHEDULE: catalogPollSchedule
    // the status page's overdue banner uses the missed-run alert's window: twice this period
    CATALOG_POLL_PERIOD_MINUTES: '${catalogPollPeriodMinutes}'
    WATCH_SUBSCRIPTION_ID: watchSubscriptionId
    WATCH_SUBSCRIPTION_IDS: watchSubscriptionIds
    WATCH_LOCATIONS: watchLocations
    WATCH_ACCOUNTS: watchAccounts
    EVENTGRID_TOPIC_ENDPOINT: topic.properties.endpoint // no EVENTGRID_TOPIC_KEY: the managed identity publishes
    POLICY_MODE: policyMode
    CANARY_MODE: canaryMode
    EVAL_SUITES: evalSuites // empty: the app's own evals/ folder
    POLICY_ENFORCE_ALL_ACCOUNTS: policyEnforceAllAccounts
    ALERT_MIN_SEVERITY: alertMinSeverity
    // the HTTP functions check the caller's app role from App Service Authentication (authsettingsV2 below)
    HTTP_AUTH: 'entra'
    STATUS_PAGE_URL: 'https://${functionApp.properties.defaultHostName}/api/status'
    // DefaultAzureCredential tries only the managed identity: no slow fall-through to developer credentials
    AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential'
  },
  secretSettings
)

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${token}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    // no siteConfig.ftpsState: Flex Consumption rejects it in some regions ("site configuration properties ... for
    // Flex Consumption sites is invalid", Azure/azure-cli#31414), and Flex Consumption has no FTP endpoint anyway
    siteConfig: {
      minTlsVersion: '1.2'
    }
    // Flex Consumption: the runtime lives here, not in FUNCTIONS_WORKER_RUNTIME (which it rejects)
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: { name: 'python', version: '3.11' }
    }
  }
}

module appRoles 'app-roles.bicep' = {
  name: 'app-roles-${token}'
  params: {
    principalId: functionApp.identity.principalId
    topicPrincipalId: topic.identity.principalId
    storageAccountName: storage.name
    deadLetterContainer: deadLetters.name
    topicName: topic.name
    vaultName: vault.name
    insightsName: insights.name
  }
}

// Written after the roles and secrets exist: writing the settings restarts the app, which then resolves the Key
// Vault references (one that cannot be resolved reaches the app as its literal text) and reaches its storage. A role
// can still take minutes to take effect after its assignment exists: the postprovision hook refreshes the references
// and waits until each one reports Resolved (infra/hooks/postprovision.sh).
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
  dependsOn: [
    appRoles
    teamsSecret
    slackSecret
    routesSecret
  ]
}

// App Service Authentication (Easy Auth) with Microsoft Entra ID in front of every HTTP function: an unauthenticated
// call gets 401 before it reaches the app (one action for all paths: a browser redirect cannot be kept for the
// status page alone, so browsers sign in at /.auth/login/aad first; docs/deploy.md). The app then checks the caller's
// app role (ModelWatch.Reader, ModelWatch.Operator) from X-MS-CLIENT-PRINCIPAL (HTTP_AUTH=entra).
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // Event Grid delivers to the Event Grid extension's endpoint with its system key and no Entra token: Easy
      // Auth must let it through (the extension still requires the key). Both spellings: the Functions docs write
      // /runtime/webhooks/EventGrid, the trigger's subscription URL uses /runtime/webhooks/eventgrid, and App
      // Service does not document whether excludedPaths matches case-insensitively.
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
        '/runtime/webhooks/EventGrid'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false // nothing calls Graph on the user's behalf: no tokens to keep
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
  // one write to the site's configuration at a time: two config PUTs in parallel can meet a 409 (operation in progress)
  dependsOn: [
    settings
  ]
}

// No publishing with a user name and password (FTP, or the SCM site's basic auth): azd deploys the package with
// an Entra token (Flex Consumption's one-deploy), so nothing here needs these credentials. Written one after the
// other and after the site's configuration, like the config writes above (two writes to one site at once can meet
// a 409).
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
  dependsOn: [
    auth
  ]
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
  dependsOn: [
    ftpCredentials
  ]
}

module monitoring 'monitoring.bicep' = {
  name: 'monitoring-${token}'
  params: {
    location: location
    tags: tags
    token: token
    workspaceId: logs.id
    topicId: topic.id
    functionAppName: functionApp.name
    catalogPollPeriodMinutes: catalogPollPeriodMinutes
    healthAlertEmail: healthAlertEmail
    healthAlertWebhookUrl: healthAlertWebhookUrl
  }
}

output functionAppName string = functionApp.name
output functionAppHost string = functionApp.properties.defaultHostName
output principalId string = functionApp.identity.principalId
output topicName string = topic.name
output storageAccountName string = storage.name
output deadLetterContainer string = deadLetterContainer
output keyVaultName string = vault.name
