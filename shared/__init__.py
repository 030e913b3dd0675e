"""modelwatch: Azure OpenAI model-version lifecycle watcher (Azure Functions, Python v2 model)."""
