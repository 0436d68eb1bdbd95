class Transformer:
    pass
