"""Targets and trials (meten is weten): stored in the workspace (``store``), judged on registry
metrics (``targets``, ``trials``). Above the metrics layer: plans read metrics, never the reverse."""
