"""This host's files and tools: the descriptor/package reader, private scratch folders, Graphviz's ``dot``."""
