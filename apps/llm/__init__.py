"""`bios llm` and supervised fine-tuning (SFT with DEFT, bios_kg.apps.llm.sft). The backends, the model registry and
provenance are one layer down, in bios_kg.embed.llm, where clustering uses them too."""
