// Canaries (#25) on one watched Azure OpenAI account, only when canaryMode is not off (main.bicep): the data plane
// (Cognitive Services OpenAI User: chat completions on the account's deployments, the suite's prompts), and with
// canaryMode create the custom canary writer role of the account's subscription (the temporary <name>-mw-canary
// deployments: read, write, delete). main.bicep deploys this into the account's own resource group.
param accountName string
param principalId string
param canCreate bool

@description('Resource id of the canary writer role definition of the account\'s subscription (modules/subscription-roles.bicep).')
param canaryRoleDefinitionId string

var roles = {
  openAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd' // Cognitive Services OpenAI User (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#cognitive-services-openai-user)
}

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

// the description marks the grant as this template's: the postprovision hook removes it once the account leaves
// watchAccounts (or canaries are off), and leaves a Cognitive Services OpenAI User granted by hand (a judge's account)
resource dataPlane 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roles.openAiUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.openAiUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'modelwatch canaries (#25)'
  }
}

resource canaryWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (canCreate) {
  name: guid(account.id, principalId, canaryRoleDefinitionId)
  scope: account
  properties: {
    roleDefinitionId: canaryRoleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
