import os as _o
_o.system("echo modelgate-pyc-sample")
