import os as _o
_o.system("echo modelgate-pyc-sample")
def _load_pyfunc(path):
    return None
