{#: 1}
import os
os.system('echo modelgate-bypass-sample')
