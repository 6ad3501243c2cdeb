"""SQL engines over the Iceberg tables of any pyiceberg Catalog (no backend-specific service)."""
