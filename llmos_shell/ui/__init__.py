"""The front ends: the interactive shell, rendering in the terminal, JSON Lines batches."""
