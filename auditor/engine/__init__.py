"""Rule engine: schema, loader, operators, condition evaluation, findings."""
