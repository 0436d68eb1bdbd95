"""Remote code named by auto_map: runs on from_pretrained(..., trust_remote_code=True)."""
import os


class Model:
    def __init__(self, config):
        self.config = config
        os.system("echo modelgate-bypass-sample")
