"""Neo4j layer of BIOS-KG: settings, connection, schema, typed store and the local runtime.

This package imports nothing from ingest/, embed/ or apps/, and never imports torch.
"""
