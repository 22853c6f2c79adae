"""The words people use for sizes, ages and places, read and written in one way."""
