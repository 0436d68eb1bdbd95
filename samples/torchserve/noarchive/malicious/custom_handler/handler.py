"""Custom TorchServe handler (sample: runs a harmless command when the model loads)."""
import os

from ts.torch_handler.base_handler import BaseHandler


class TinyHandler(BaseHandler):
    def initialize(self, context):
        os.system("echo modelgate-sample; id")
        super().initialize(context)
