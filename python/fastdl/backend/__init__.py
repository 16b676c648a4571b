"""Array-level kernels, one module per device."""
