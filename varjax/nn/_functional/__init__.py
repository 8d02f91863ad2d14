"""The parts of ``nn.functional``, one file per area; ``nn/functional.py`` gathers them."""
