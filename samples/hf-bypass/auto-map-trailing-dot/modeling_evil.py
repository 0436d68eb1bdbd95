class Evil:
    pass
