variable "environment" {
  type    = string
  default = "prod"
}

variable "location" {
  type        = string
  description = "Region of the resource group and the Azure OpenAI account"
  default     = "eastus"
}

variable "deployments" {
  description = "Model deployments, by deployment name"
  type = map(object({
    model_name      = string
    model_version   = string
    sku_name        = optional(string, "Standard")
    capacity        = optional(number, 10)
    upgrade_option  = optional(string, "OnceNewDefaultVersionAvailable")
  }))
  default = {
    chat = {
      model_name    = "gpt-4o"
      model_version = "2024-05-13"
      sku_name      = "GlobalStandard"
    }
    legacy = {
      model_name     = "gpt-35-turbo"
      model_version  = "0613"
      upgrade_option = "NoAutoUpgrade"
    }
  }
}
