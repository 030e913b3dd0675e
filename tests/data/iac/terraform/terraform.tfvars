location = "swedencentral"

deployments = {
  chat = {
    model_name     = "gpt-4o"
    model_version  = "2024-05-13"
    sku_name       = "GlobalStandard"
    upgrade_option = "OnceNewDefaultVersionAvailable"
  }
  embedding = {
    model_name    = "text-embedding-ada-002"
    model_version = "2"
    sku_name      = "Standard"
  }
}
