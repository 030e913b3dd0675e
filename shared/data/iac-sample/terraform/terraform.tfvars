location = "swedencentral"

deployments = {
  chat = {
    model_name     = "gpt-35-turbo"
    model_version  = "0613"
    upgrade_option = "NoAutoUpgrade"
  }
  mini = {
    model_name    = "gpt-4o-mini"
    model_version = "2024-07-18"
    sku_name      = "GlobalStandard"
  }
}
