// A team's own template: the account and its deployments nested in it, values from a .bicepparam file.
param location string = 'westeurope'
param accountName string
param chatModel object
param provisioned bool = false

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: accountName
  location: location
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }

  resource chat 'deployments' = {
    name: 'chat'
    sku: {
      name: provisioned ? 'ProvisionedManaged' : 'GlobalStandard'
      capacity: 50
    }
    properties: {
      model: {
        format: 'OpenAI'
        name: chatModel.name
        version: chatModel.version
      }
      versionUpgradeOption: 'NoAutoUpgrade'
    }
  }
}

resource legacy 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = if (provisioned) {
  parent: account
  name: 'legacy'
  properties: {
    model: {
      format: 'OpenAI'
      name: 'gpt-35-turbo'
      version: '0613'
    }
  }
}
