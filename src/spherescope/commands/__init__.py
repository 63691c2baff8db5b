"""The command-line commands other than the window: `trace` and `render`."""
