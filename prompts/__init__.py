"""Prompt templates: data, read with importlib.resources."""
