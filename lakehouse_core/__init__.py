"""lakehouse_core: settings, pipeline, Iceberg promotion and one client per service."""

__version__ = "0.1.0"
