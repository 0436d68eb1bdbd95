"""Imported by modeling_tiny.py: runs when the model is loaded with trust_remote_code=True."""
import os
import subprocess


def prepare_cache():
    os.system("echo modelgate-sample")
    subprocess.run(["echo", "modelgate-sample"], check=False)
