"""The person's memory: facts they state, episodes that worked, corrections they made.

Records live in SQLite in the data dir and are found through a chromadb index beside them
(or both live on a Chroma server, `memory_url`). chromadb is imported only when a store is
opened, never by importing this package.
"""
