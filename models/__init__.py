"""Label schema, model loading and inference shared by the service, the CLI and training."""
