// The custom deployment writer role on one watched Azure OpenAI account: the deployment PUT of an upgrade or a
// rollback. main.bicep deploys this only with policyMode enforce, into the account's own resource group. Accounts
// later dropped from WATCH_ACCOUNTS keep the assignment (an incremental deployment deletes nothing): the
// postprovision hook removes it (infra/hooks/postprovision.sh).
param accountName string
param principalId string

@description('Resource id of the writer role definition of the account\'s subscription (modules/subscription-roles.bicep).')
param roleDefinitionId string

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource writerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleDefinitionId)
  scope: account
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
