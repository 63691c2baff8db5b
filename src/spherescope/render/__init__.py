"""OpenGL render items and the 3-D view. Numpy arrays in, pixels out; main thread only."""
