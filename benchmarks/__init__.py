"""varjax benchmarks: ratios against hand-written JAX (and PyTorch when installed), same run."""
