# The payments team's account and deployments.
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm", version = "~> 4.0" }
  }
}

provider "azurerm" {
  features {}
}

variable "location" {
  type    = string
  default = "eastus"
}

variable "deployments" {
  type = map(object({
    model_name      = string
    model_version   = string
    sku_name        = string
    capacity        = number
    upgrade_option  = optional(string, "OnceCurrentVersionExpired")
  }))
  default = {
    "chat-prod" = {
      model_name     = "gpt-4o"
      model_version  = "2024-05-13"
      sku_name       = "Standard"
      capacity       = 50
      upgrade_option = "NoAutoUpgrade"
    }
    "ptu-chat" = {
      model_name    = "gpt-4o"
      model_version = "2024-08-06"
      sku_name      = "ProvisionedManaged"
      capacity      = 100
    }
  }
}

resource "azurerm_resource_group" "payments" {
  name     = "rg-payments-ai"
  location = var.location
}

resource "azurerm_cognitive_account" "payments" {
  name                = "contoso-payments"
  location            = azurerm_resource_group.payments.location
  resource_group_name = azurerm_resource_group.payments.name
  kind                = "OpenAI"
  sku_name            = "S0"
}

resource "azurerm_cognitive_deployment" "this" {
  for_each               = var.deployments
  name                   = each.key
  cognitive_account_id   = azurerm_cognitive_account.payments.id
  version_upgrade_option = each.value.upgrade_option

  model {
    format  = "OpenAI"
    name    = each.value.model_name
    version = each.value.model_version
  }

  sku {
    name     = each.value.sku_name
    capacity = each.value.capacity
  }
}
