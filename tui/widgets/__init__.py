"""Widgets: dumb renderers of lakehouse_core.models dataclasses."""
