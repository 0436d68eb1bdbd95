"""Custom TorchServe handler (sample: leaves a marker file when TorchServe imports it)."""
open("torchserve-bypass.marker", "w").close()


class Handler:
    def initialize(self, context):
        pass
