"""Built-in model plugins: each a factory ``(info) -> keras_tuner.HyperModel``."""
