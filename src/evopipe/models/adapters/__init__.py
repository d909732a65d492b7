"""SDK adapters, one module per provider (openai, anthropic, google) plus the embedded model."""
