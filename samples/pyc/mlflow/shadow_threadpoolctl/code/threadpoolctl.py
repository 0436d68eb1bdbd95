def scale(x, k=2.0):
    return [v * k for v in x]
