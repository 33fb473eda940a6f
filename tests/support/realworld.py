"""Terminology files written by others: the folder of the `BIOS_REALWORLD` setting (by default `shared/realworld`
beside the checkout, as CI lays it out)."""

from bios_kg.graph.settings import load_settings

REALWORLD = load_settings().data.realworld
