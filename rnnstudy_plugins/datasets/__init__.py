"""Built-in dataset plugins: each a ``load(hp, *, data_dir) -> rnnstudy.Data``."""
