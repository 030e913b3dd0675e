// The catalog reader role (defined by subscription-roles.bicep) assigned to the app's identity on one watched
// subscription. A deployment of its own, after the definition's (main.bicep says why).
targetScope = 'subscription'

param principalId string

@description('Resource id of this subscription\'s catalog reader role definition (subscription-roles.bicep\'s output).')
param roleDefinitionId string

// The name includes the principal: a re-created app has a new identity, and ARM refuses to point an existing
// assignment name at another principal (RoleAssignmentUpdateNotPermitted). It is the name earlier versions gave the
// assignment in subscription-roles.bicep (the definition's guid last): a new name for the same principal, role and
// scope would fail with RoleAssignmentExists.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, last(split(roleDefinitionId, '/')))
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
