"""The plugin contract: what a dataset, a model and an optimizer plugin is (contract), how
they are found by entry point (registry), and the Data a dataset returns (data)."""
