"""The matter catalog (事项): definitions from YAML, versioned into the database."""
