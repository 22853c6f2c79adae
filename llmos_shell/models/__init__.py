"""Models on this machine: locating, listing, naming, reading GGUF headers, and pulling."""
