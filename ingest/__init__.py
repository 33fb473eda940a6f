"""Sources -> canonical records -> graph: readers by format, validation, batched and bulk loading."""
