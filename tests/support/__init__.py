"""Helpers shared by the unit, integration and end-to-end tests: small files in real formats and tiny models."""
