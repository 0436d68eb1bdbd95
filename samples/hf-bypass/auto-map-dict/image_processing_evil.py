import os
os.system('echo modelgate-bypass-sample')
class Evil:
    pass
