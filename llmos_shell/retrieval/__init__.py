"""Finding similar texts: sentence embeddings and lexical (BM25) search."""
