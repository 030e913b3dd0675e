terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
    azapi = {
      source = "Azure/azapi"
    }
  }
}

provider "azurerm" {
  features {}
}

resource "azurerm_resource_group" "rg" {
  name     = "rg-${var.environment}-openai"
  location = var.location
}

module "openai" {
  source              = "./modules/openai"
  name                = "oai-contoso-${var.environment}"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
  deployments         = var.deployments
}

# A deployment the module does not manage, written with azapi.
resource "azapi_resource" "realtime" {
  type      = "Microsoft.CognitiveServices/accounts/deployments@2024-10-01"
  name      = "realtime"
  parent_id = module.openai.account_id
  body = {
    sku = {
      name     = "GlobalStandard"
      capacity = 1
    }
    properties = {
      model = {
        format  = "OpenAI"
        name    = "gpt-4o-mini"
        version = "2024-07-18"
      }
    }
  }
}
