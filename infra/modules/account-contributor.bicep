// Cognitive Services Contributor on one watched Azure OpenAI account: the deployment PUT of an upgrade or a
// rollback. main.bicep deploys this only with policyMode enforce, into the account's own resource group.
param accountName string
param principalId string

var contributor = '25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource writerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, contributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
