variable "name" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "deployments" {
  type = map(object({
    model_name     = string
    model_version  = string
    sku_name       = optional(string, "Standard")
    capacity       = optional(number, 10)
    upgrade_option = optional(string, "OnceCurrentVersionExpired")
  }))
  default = {}
}
