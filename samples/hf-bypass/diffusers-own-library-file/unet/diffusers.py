from diffusers import UNet2DModel as _Base


class UNet2DModel(_Base):
    pass
