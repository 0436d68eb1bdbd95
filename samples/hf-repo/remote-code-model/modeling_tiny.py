"""Custom modeling code shipped with the sample repo (never imported by modelgate)."""
from .configuration_tiny import TinyConfig
from .helpers_tiny import prepare_cache


class TinyModel:
    config_class = TinyConfig

    def __init__(self, config):
        self.config = config
        prepare_cache()
