"""The person's memory: facts they state, episodes that worked, corrections they made.

Records live in SQLite in the data dir with their vectors, found by scanning those vectors
while the store is small and through a chromadb index beside them past that (or both live on
a Chroma server, `memory_url`). chromadb is imported only when that index or server is used,
never by importing this package.
"""
