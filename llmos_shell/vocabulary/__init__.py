"""The words people use for sizes, ages, places and kinds of file, read and written one way."""
