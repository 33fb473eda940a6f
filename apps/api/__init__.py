"""The HTTP API (FastAPI): `bios serve`."""
